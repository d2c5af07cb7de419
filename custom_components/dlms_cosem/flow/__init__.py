"""The config and options flows' parts: forms, secrets, where failures show, reconfigure, serial ports.

``config_flow.py`` (where Home Assistant looks for it) holds the flow's steps; what they ask and how
is built here, so each step reads as what it does.
"""
