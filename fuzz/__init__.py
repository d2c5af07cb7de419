"""Fuzzing of every parser of the DLMS/COSEM stack: ``scripts/fuzz`` (see docs/RELIABILITY.md).

``targets`` holds one entry per parser with its seeds (the fixtures' captures), ``engine`` the
seeded, coverage-guided mutation loop and the classification of each input.
"""
