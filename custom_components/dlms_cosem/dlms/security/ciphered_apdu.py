"""Ciphered xDLMS APDUs (IEC 62056-5-3 ASN.1): glo-/ded- service-specific and general-glo/ded-ciphering.

Service-specific form: tag, length, then SC (1) || IC (4) || ciphertext and/or tag. The general forms
add the sender's system title (a length-prefixed octet-string) before the length, so a receiver can
decrypt a push without knowing the meter's title in advance. glo- APDUs use the global key, ded- APDUs
the dedicated key agreed in the initiate request: the caller puts the right one in ``SecurityKeys``.
"""

from __future__ import annotations

from dataclasses import dataclass

from ..apdu.tags import CIPHERED_TAGS, ApduTag
from ..errors import DecodeError, EncodeError, SecurityError
from ..reader import ByteReader, encode_length
from .control import SecurityControl, as_security_control
from .gcm import INVOCATION_COUNTER_MAX, SYSTEM_TITLE_LENGTH, decrypt, encrypt
from .keys import SecurityKeys

SECURITY_HEADER_LENGTH = 5  # security control byte and invocation counter


#: The ciphered APDUs this module decodes, named in the stack's one tag table: every glo- and ded-
#: service APDU and the general glo/ded forms (general-ciphering 221 and general-signing are not handled).
CIPHERED_APDU_TAGS: frozenset[ApduTag] = frozenset(
    ApduTag(tag) for tag in CIPHERED_TAGS if tag != ApduTag.GENERAL_CIPHERING
)
GENERAL_CIPHERING_TAGS = frozenset({ApduTag.GENERAL_GLO_CIPHERING, ApduTag.GENERAL_DED_CIPHERING})
DEDICATED_TAGS = frozenset(tag for tag in CIPHERED_APDU_TAGS if tag.name.startswith("DED_")) | {
    ApduTag.GENERAL_DED_CIPHERING
}


def is_ciphered_tag(tag: int) -> bool:
    """True for the APDU tags this module decodes (general-ciphering 221 and signing are not among them)."""
    return tag in CIPHERED_APDU_TAGS


def is_general_tag(tag: int) -> bool:
    """True for general-glo-ciphering and general-ded-ciphering, which carry the system title."""
    return tag in GENERAL_CIPHERING_TAGS


@dataclass(frozen=True, slots=True)
class CipheredApdu:
    """One ciphered APDU as on the wire; ``protected`` is the ciphertext and/or GCM tag after SC || IC."""

    tag: int
    system_title: bytes | None
    control: SecurityControl
    invocation_counter: int
    protected: bytes

    def __post_init__(self) -> None:
        if not is_ciphered_tag(self.tag):
            raise EncodeError(f"0x{self.tag:02X} is not a ciphered xDLMS APDU tag")
        if is_general_tag(self.tag):
            if self.system_title is None or len(self.system_title) != SYSTEM_TITLE_LENGTH:
                raise EncodeError(f"a general ciphering APDU needs a {SYSTEM_TITLE_LENGTH}-byte system title")
        elif self.system_title is not None:
            raise EncodeError("a service-specific ciphered APDU carries no system title")
        if not 0 <= self.invocation_counter <= INVOCATION_COUNTER_MAX:
            raise EncodeError(f"invocation counter {self.invocation_counter} outside 0..0xFFFFFFFF")

    @property
    def is_general(self) -> bool:
        """Whether the APDU carries the sender's system title."""
        return is_general_tag(self.tag)

    @property
    def is_dedicated(self) -> bool:
        """Whether the dedicated key (not the global one) protects it."""
        return self.tag in DEDICATED_TAGS

    def encode(self) -> bytes:
        """The APDU bytes."""
        out = bytearray([self.tag])
        if self.system_title is not None:
            out += encode_length(len(self.system_title)) + self.system_title
        out += encode_length(SECURITY_HEADER_LENGTH + len(self.protected))
        out.append(self.control.to_byte())
        out += self.invocation_counter.to_bytes(4, "big")
        out += self.protected
        return bytes(out)


def read_ciphered_apdu(reader: ByteReader) -> CipheredApdu:
    """Read one ciphered APDU from ``reader``, leaving anything after it unread."""
    tag = reader.u8("ciphered APDU tag")
    if not is_ciphered_tag(tag):
        raise DecodeError(f"0x{tag:02X} is not a ciphered xDLMS APDU tag")
    system_title: bytes | None = None
    if is_general_tag(tag):
        title_length = reader.length("system title length")
        if title_length != SYSTEM_TITLE_LENGTH:
            raise DecodeError(f"system title of {title_length} bytes, expected {SYSTEM_TITLE_LENGTH}")
        system_title = reader.take(title_length, "system title")
    content_length = reader.length("ciphered content length")
    if content_length < SECURITY_HEADER_LENGTH:
        raise DecodeError(f"ciphered content of {content_length} bytes has no room for SC and IC")
    control = SecurityControl.from_byte(reader.u8("security control"))
    invocation_counter = reader.u32("invocation counter")
    protected = reader.take(content_length - SECURITY_HEADER_LENGTH, "ciphered content")
    return CipheredApdu(tag, system_title, control, invocation_counter, protected)


def decode_ciphered_apdu(raw: bytes) -> CipheredApdu:
    """Decode exactly one ciphered APDU."""
    reader = ByteReader(raw)
    apdu = read_ciphered_apdu(reader)
    reader.expect_end("ciphered APDU")
    return apdu


@dataclass(frozen=True, slots=True)
class UnprotectedApdu:
    """The APDU inside, with what its security header claimed and whether a tag was checked."""

    plaintext: bytes
    control: SecurityControl
    invocation_counter: int
    system_title: bytes
    authenticated: bool
    verified: bool


def unprotect(
    apdu: CipheredApdu | bytes, keys: SecurityKeys, system_title: bytes | None = None
) -> UnprotectedApdu:
    """Decipher an APDU; ``system_title`` is the sender's, needed only for service-specific forms.

    ``verified`` is False when the APDU has no tag or no authentication key was given: the caller must
    then check the plaintext's structure to catch a wrong encryption key.
    """
    if not isinstance(apdu, CipheredApdu):
        apdu = decode_ciphered_apdu(apdu)
    if apdu.control.compressed:
        raise SecurityError("compressed ciphered APDUs (V.44) are not supported")
    title = apdu.system_title if apdu.system_title is not None else system_title
    if title is None:
        raise DecodeError(
            "a service-specific ciphered APDU carries no system title: the sender's system title is needed"
        )
    payload = decrypt(
        control=apdu.control,
        system_title=title,
        invocation_counter=apdu.invocation_counter,
        encryption_key=keys.encryption_key,
        authentication_key=keys.authentication_key,
        protected=apdu.protected,
    )
    return UnprotectedApdu(
        plaintext=payload.plaintext,
        control=apdu.control,
        invocation_counter=apdu.invocation_counter,
        system_title=bytes(title),
        authenticated=apdu.control.authenticated,
        verified=payload.verified,
    )


def protect(
    tag: int,
    plaintext: bytes,
    keys: SecurityKeys,
    *,
    system_title: bytes,
    invocation_counter: int,
    control: SecurityControl | int = 0x30,
) -> CipheredApdu:
    """Cipher ``plaintext`` into the APDU named by ``tag``; ``system_title`` is ours (the sender's)."""
    if not is_ciphered_tag(tag):
        raise EncodeError(f"0x{tag:02X} is not a ciphered xDLMS APDU tag")
    sc = as_security_control(control)
    if sc.compressed:
        raise EncodeError("compressed ciphered APDUs (V.44) are not supported")
    protected = encrypt(
        control=sc,
        system_title=system_title,
        invocation_counter=invocation_counter,
        encryption_key=keys.encryption_key,
        authentication_key=keys.authentication_key,
        plaintext=plaintext,
    )
    return CipheredApdu(
        tag=tag,
        system_title=bytes(system_title) if is_general_tag(tag) else None,
        control=sc,
        invocation_counter=invocation_counter,
        protected=protected,
    )
