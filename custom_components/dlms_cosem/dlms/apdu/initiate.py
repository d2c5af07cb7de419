"""xDLMS InitiateRequest / InitiateResponse: the context proposal carried in AARQ/AARE user-information.

A-XDR encoded (not BER) apart from the conformance block. ``OPTIONAL`` and ``DEFAULT`` fields are
preceded by a presence byte; ``response-allowed`` is sent as "default" (0x00) when true, as clients do.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Self

from ..errors import DecodeError
from ..reader import ByteReader
from .common import (
    check_range,
    encode_octet_string,
    finish,
    read_boolean,
    read_octet_string,
    read_optional_flag,
)
from .conformance import DEFAULT_CLIENT_CONFORMANCE, Conformance, decode_conformance, encode_conformance
from .tags import ApduTag

#: The xDLMS version every current meter speaks.
DLMS_VERSION = 6
#: ``vaa-name`` a server reports for logical name referencing (0x0007); short name servers send 0xFA00.
VAA_NAME_LN = 0x0007
#: ``vaa-name`` of a short name referencing server: the base name of its Association SN object.
VAA_NAME_SN = 0xFA00
#: What this stack can take in one APDU unless told otherwise.
DEFAULT_MAX_RECEIVE_PDU_SIZE = 0xFFFF


def _encode_qos(value: int | None) -> bytes:
    if value is None:
        return b"\x00"
    return b"\x01" + value.to_bytes(1, "big", signed=True)


def _read_qos(reader: ByteReader) -> int | None:
    if read_optional_flag(reader, "quality-of-service"):
        return reader.sint(1, "quality-of-service")
    return None


@dataclass(frozen=True, slots=True)
class InitiateRequest:
    """``InitiateRequest`` (tag 0x01): the client's proposed xDLMS context.

    ``dedicated_key`` is a secret: it is kept out of ``repr``.
    """

    proposed_conformance: Conformance = DEFAULT_CLIENT_CONFORMANCE
    client_max_receive_pdu_size: int = DEFAULT_MAX_RECEIVE_PDU_SIZE
    proposed_dlms_version_number: int = DLMS_VERSION
    dedicated_key: bytes | None = field(default=None, repr=False)
    response_allowed: bool = True
    proposed_quality_of_service: int | None = None

    TAG = ApduTag.INITIATE_REQUEST

    def __post_init__(self) -> None:
        check_range(self.client_max_receive_pdu_size, 0, 0xFFFF, "client-max-receive-pdu-size")
        check_range(self.proposed_dlms_version_number, 0, 0xFF, "proposed-dlms-version-number")
        if self.proposed_quality_of_service is not None:
            check_range(self.proposed_quality_of_service, -128, 127, "proposed-quality-of-service")

    def encode(self) -> bytes:
        """The APDU bytes."""
        key = b"\x00" if self.dedicated_key is None else b"\x01" + encode_octet_string(self.dedicated_key)
        response_allowed = b"\x00" if self.response_allowed else b"\x01\x00"
        return (
            bytes([self.TAG])
            + key
            + response_allowed
            + _encode_qos(self.proposed_quality_of_service)
            + bytes([self.proposed_dlms_version_number])
            + encode_conformance(self.proposed_conformance)
            + self.client_max_receive_pdu_size.to_bytes(2, "big")
        )

    @classmethod
    def decode(cls, raw: bytes) -> Self:
        """Parse a whole InitiateRequest."""
        reader = ByteReader(raw)
        if reader.u8("tag") != cls.TAG:
            raise DecodeError("not an initiate-request")
        return cls.read_body(reader)

    @classmethod
    def read_body(cls, reader: ByteReader) -> Self:
        """Parse what follows the tag."""
        key = None
        if read_optional_flag(reader, "dedicated-key"):
            key = read_octet_string(reader, "dedicated-key")
        response_allowed = True
        if read_optional_flag(reader, "response-allowed"):
            response_allowed = read_boolean(reader, "response-allowed")
        qos = _read_qos(reader)
        version = reader.u8("proposed-dlms-version-number")
        conformance = decode_conformance(reader)
        max_pdu = reader.u16("client-max-receive-pdu-size")
        finish(reader, "initiate-request")
        return cls(
            proposed_conformance=conformance,
            client_max_receive_pdu_size=max_pdu,
            proposed_dlms_version_number=version,
            dedicated_key=key,
            response_allowed=response_allowed,
            proposed_quality_of_service=qos,
        )


@dataclass(frozen=True, slots=True)
class InitiateResponse:
    """``InitiateResponse`` (tag 0x08): the context the server accepted."""

    negotiated_conformance: Conformance
    server_max_receive_pdu_size: int
    negotiated_dlms_version_number: int = DLMS_VERSION
    vaa_name: int = VAA_NAME_LN
    negotiated_quality_of_service: int | None = None

    TAG = ApduTag.INITIATE_RESPONSE

    def __post_init__(self) -> None:
        check_range(self.server_max_receive_pdu_size, 0, 0xFFFF, "server-max-receive-pdu-size")
        check_range(self.negotiated_dlms_version_number, 0, 0xFF, "negotiated-dlms-version-number")
        check_range(self.vaa_name, 0, 0xFFFF, "vaa-name")
        if self.negotiated_quality_of_service is not None:
            check_range(self.negotiated_quality_of_service, -128, 127, "negotiated-quality-of-service")

    def encode(self) -> bytes:
        """The APDU bytes."""
        return (
            bytes([self.TAG])
            + _encode_qos(self.negotiated_quality_of_service)
            + bytes([self.negotiated_dlms_version_number])
            + encode_conformance(self.negotiated_conformance)
            + self.server_max_receive_pdu_size.to_bytes(2, "big")
            + self.vaa_name.to_bytes(2, "big")
        )

    @classmethod
    def decode(cls, raw: bytes) -> Self:
        """Parse a whole InitiateResponse."""
        reader = ByteReader(raw)
        if reader.u8("tag") != cls.TAG:
            raise DecodeError("not an initiate-response")
        return cls.read_body(reader)

    @classmethod
    def read_body(cls, reader: ByteReader) -> Self:
        """Parse what follows the tag."""
        qos = _read_qos(reader)
        version = reader.u8("negotiated-dlms-version-number")
        conformance = decode_conformance(reader)
        max_pdu = reader.u16("server-max-receive-pdu-size")
        vaa_name = reader.u16("vaa-name")
        finish(reader, "initiate-response")
        return cls(
            negotiated_conformance=conformance,
            server_max_receive_pdu_size=max_pdu,
            negotiated_dlms_version_number=version,
            vaa_name=vaa_name,
            negotiated_quality_of_service=qos,
        )
