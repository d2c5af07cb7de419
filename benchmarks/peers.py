"""The other Python DLMS libraries, driven the way their documentation drives a push telegram.

gurux-dlms (GPL) and dlms-cosem (BSL) are only imported here, for measuring; nothing is copied from
them. Each adapter goes from the captured chunks to the library's decoded value tree (framing,
reassembly, decryption, A-XDR): neither library names a pushed value by OBIS code, scales it or
gives its unit for the push layouts meters use, so their time stops where ours goes on. A
library "decodes" a capture when its tree holds the same integers, in the same order, as ours
(:func:`integers`); otherwise the table says it cannot.
"""

from __future__ import annotations

import contextlib
import io
from collections.abc import Callable, Iterator
from typing import Any

type Adapter = Callable[[list[bytes]], list[object]]
"""Decode one capture's chunks into the library's values (one entry per telegram)."""

_LLC_HEADERS = (b"\xe6\xe7\x00", b"\xe6\xe6\x00")


def versions() -> dict[str, str]:
    """Installed version of each library, or why it is missing."""
    from importlib import metadata  # noqa: PLC0415 - only when asked

    found = {}
    for name in ("gurux-dlms", "dlms-cosem"):
        try:
            found[name] = metadata.version(name)
        except metadata.PackageNotFoundError:
            found[name] = "not installed"
    return found


def integers(value: object) -> list[int]:
    """Every integer in a decoded tree, depth first (enum wrappers unwrapped; booleans left out)."""
    found: list[int] = []

    def walk(item: object) -> None:
        if isinstance(item, bool):
            return
        if isinstance(item, int):
            found.append(int(item))
        elif isinstance(item, list | tuple):
            for member in item:
                walk(member)
        elif hasattr(item, "value") and isinstance(item.value, int) and not isinstance(item.value, bool):
            found.append(int(item.value))  # gurux enum wrappers

    walk(value)
    return found


@contextlib.contextmanager
def _quiet() -> Iterator[None]:
    """Gurux prints on decryption; the output goes nowhere (its cost stays in the figure)."""
    with contextlib.redirect_stdout(io.StringIO()):
        yield


# ----------------------------------------------------------------------------------------- gurux


def gurux_adapter(transport: str, keys: dict[str, str] | None, frames: list[bytes]) -> Adapter:
    """A GXDLMSSecureClient fed the chunks through getData, as a push listener would."""
    # The peers are imported only when used: the benchmark runs without them (it says so).
    from gurux_dlms import GXByteBuffer, GXReplyData  # noqa: PLC0415
    from gurux_dlms.enums import InterfaceType, Security  # noqa: PLC0415
    from gurux_dlms.secure import GXDLMSSecureClient  # noqa: PLC0415

    interface = {
        "hdlc": InterfaceType.HDLC,
        "apdu": InterfaceType.PDU,
        "mbus": InterfaceType.WIRED_MBUS,
        "wrapper": InterfaceType.WRAPPER,
    }[transport]
    client_address, server_address = 1, 1
    if transport == "hdlc" and frames:
        # gurux drops frames not addressed to it: a user configures the meter's addresses.
        client_address, server_address = _hdlc_addresses(frames[0])
    encryption = bytes.fromhex(keys["encryption"]) if keys and keys.get("encryption") else None
    authentication = bytes.fromhex(keys["authentication"]) if keys and keys.get("authentication") else None

    def decode(chunks: list[bytes]) -> list[object]:
        client = GXDLMSSecureClient(True, client_address, server_address, interfaceType=interface)
        if encryption is not None:
            client.ciphering.blockCipherKey = encryption
            client.ciphering.security = Security.ENCRYPTION
        if authentication is not None:
            client.ciphering.authenticationKey = authentication
            client.ciphering.security = Security.AUTHENTICATION_ENCRYPTION
        reply, notify, buffer = GXReplyData(), GXReplyData(), GXByteBuffer()
        telegrams: list[object] = []
        with _quiet():
            for chunk in chunks:
                buffer.set(chunk)
                while buffer.position < buffer.size:
                    before = buffer.position
                    client.getData(buffer, reply, notify)
                    if notify.isComplete() and not notify.isMoreData():
                        telegrams.append(notify.value)
                        notify.clear()
                    if buffer.position == before:
                        break
        return telegrams

    return decode


def _hdlc_addresses(frame: bytes) -> tuple[int, int]:
    """(client, server) addresses of a pushed frame: its destination and source fields."""
    position = 3

    def address() -> int:
        nonlocal position
        value = 0
        while True:
            byte = frame[position]
            position += 1
            value = (value << 7) | (byte >> 1)
            if byte & 1:
                return value

    destination = address()
    source = address()
    return destination, source


# ------------------------------------------------------------------------------------ dlms-cosem


def dlms_cosem_adapter(transport: str, keys: dict[str, str] | None, frames: list[bytes]) -> Adapter:
    """dlms-cosem's HDLC frame classes, XDlmsApduFactory, general-glo-cipher and DlmsDataParser.

    It has no M-Bus framing, no General Block Transfer and no stream framer: each chunk must be one
    whole HDLC frame (true of these captures), segments are joined by the caller as its examples do.
    """
    from dlms_cosem import dlms_data  # noqa: PLC0415
    from dlms_cosem.connection import XDlmsApduFactory  # noqa: PLC0415
    from dlms_cosem.hdlc import frames as hdlc_frames  # noqa: PLC0415
    from dlms_cosem.protocol import xdlms  # noqa: PLC0415

    if transport not in ("hdlc", "apdu"):
        raise NotImplementedError(f"dlms-cosem has no {transport} framing")
    encryption = bytes.fromhex(keys["encryption"]) if keys and keys.get("encryption") else None
    authentication = bytes.fromhex(keys["authentication"]) if keys and keys.get("authentication") else None

    def apdus(chunks: list[bytes]) -> Iterator[bytes]:
        if transport == "apdu":
            yield from chunks
            return
        parts: list[bytes] = []
        for chunk in chunks:
            control = chunk[3 + _address_size(chunk, 3) + _address_size(chunk, 3 + _address_size(chunk, 3))]
            kind: Any = (
                hdlc_frames.UnnumberedInformationFrame if control & 0x01 else hdlc_frames.InformationFrame
            )
            frame = kind.from_bytes(chunk)
            parts.append(frame.payload)
            if not frame.segmented:
                joined = b"".join(parts)
                parts = []
                yield joined[3:] if joined[:3] in _LLC_HEADERS else joined

    def decode(chunks: list[bytes]) -> list[object]:
        telegrams: list[object] = []
        for raw in apdus(chunks):
            apdu = XDlmsApduFactory.apdu_from_bytes(raw)
            if isinstance(apdu, xdlms.GeneralGlobalCipher):
                apdu = XDlmsApduFactory.apdu_from_bytes(apdu.to_plain_apdu(encryption, authentication))
            body = dlms_data.DlmsDataParser().parse(apdu.body)
            telegrams.append([item.to_python() for item in body])
        return telegrams

    return decode


def _address_size(frame: bytes, position: int) -> int:
    size = 1
    while not frame[position + size - 1] & 1:
        size += 1
    return size
