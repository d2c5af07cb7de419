"""Reflected (LSB-first) CRC-16 by lookup table: the one loop both link layers' checks are written with.

HDLC's frame check sequence (CRC-16/X-25, polynomial 0x1021 reflected to 0x8408) and the P1 telegram's
CRC (CRC-16/ARC, polynomial 0x8005 reflected to 0xA001) are the same register run with different
polynomials and initial values. A table of the register after each byte value turns eight shifts a
byte into one lookup.
"""

from __future__ import annotations


def reflected_crc16_table(polynomial: int) -> tuple[int, ...]:
    """The register after each byte value, for the bit-reversed ``polynomial`` (0x8408, 0xA001)."""
    table = []
    for byte in range(256):
        crc = byte
        for _ in range(8):
            crc = (crc >> 1) ^ polynomial if crc & 1 else crc >> 1
        table.append(crc)
    return tuple(table)


def reflected_crc16(data: bytes | bytearray | memoryview, table: tuple[int, ...], initial: int) -> int:
    """The register after ``data``, from ``initial``, one table lookup a byte (no final XOR)."""
    crc = initial
    for byte in bytes(data):
        crc = (crc >> 8) ^ table[(crc ^ byte) & 0xFF]
    return crc
