"""A sans-I/O DLMS/COSEM (IEC 62056) stack: bytes in, typed values out.

Nothing here imports Home Assistant, opens a socket or reads a clock; the asyncio adapters for ports
build on these codecs.
"""
