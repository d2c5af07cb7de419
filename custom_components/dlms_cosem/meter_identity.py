"""Who the meter is, from what it sends: meter number, maker, model and firmware for the device registry.

A pushing meter names itself only in its telegrams, each country's list in its own objects: the meter
number (device ID 1, 0-0:96.1.0, or Kamstrup's 1-1:0.0.5), the meter type (0-0:96.1.7 for Aidon and
Kaifa, 1-1:96.1.1 for Kamstrup), the active firmware identifier (1-0:0.2.0) and the list identifier
(1-1:0.2.129, "KFM_001"). The maker comes from the FLAG ID that opens the system title or the logical
device name, or else from the list identifier. Values a meter sends without codes become these objects
by structure first (see :mod:`.positions`), so they are found here the same way.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Final

from .dlms.obis import ObisCode
from .manufacturers import flag_manufacturer
from .models import MeterIdentity, MeterReading
from .positions import METER_NUMBER

LOGICAL_DEVICE_NAME: Final = ObisCode(0, 0, 42, 0, 0, 255)
FIRMWARE: Final = ObisCode(1, 0, 0, 2, 0, 255)
"""The active firmware identifier."""
EQUIPMENT_IDENTIFIER: Final = ObisCode(0, 0, 96, 1, 1, 255)
"""Device ID 2; DSMR and Luxembourg P1 telegrams send the meter's equipment identifier here, hex-encoded."""
METER_NUMBER_CODES: Final = (
    METER_NUMBER,  # Aidon, Kaifa and most others
    EQUIPMENT_IDENTIFIER,  # DSMR, e-MUCS (Fluvius), Smarty: "4530303434..." is "E00440..."
    ObisCode(1, 0, 0, 0, 5, 255),
    ObisCode(1, 1, 0, 0, 5, 255),  # Kamstrup's meter number (GS1 number)
    ObisCode(1, 0, 96, 1, 0, 255),  # "C.1.0(...)" of an optical readout (reduced codes are medium 1)
    ObisCode(1, 0, 0, 0, 0, 255),  # "0.0.0(...)", the device ID of Landis+Gyr and Iskraemeco readouts
    # On channel 1 (some Norwegian lists); in a DSMR telegram it is the gas meter's, hence last.
    ObisCode(0, 1, 96, 1, 0, 255),
)
"""Where meters send their meter number, most common first."""
METER_TYPE_CODES: Final = (
    ObisCode(0, 0, 96, 1, 7, 255),  # Aidon, Kaifa: "MA304H4D", "6525"
    ObisCode(1, 1, 96, 1, 1, 255),  # Kamstrup: "6841121BN243101040"
    ObisCode(1, 0, 96, 1, 1, 255),
)
"""Where meters send their type (the model); 0-0:96.1.1 is device ID 2, an identifier, not a type."""
FIRMWARE_CODES: Final = (
    FIRMWARE,
    ObisCode(1, 1, 0, 2, 0, 255),
    ObisCode(0, 0, 0, 2, 0, 255),
)
LIST_IDENTIFIER_CODES: Final = (ObisCode(1, 1, 0, 2, 129, 255), ObisCode(1, 0, 0, 2, 129, 255))
IDENTITY_CODES: Final = frozenset(
    {LOGICAL_DEVICE_NAME, *METER_NUMBER_CODES, *METER_TYPE_CODES, *FIRMWARE_CODES, *LIST_IDENTIFIER_CODES}
)
"""Every object that says who the meter is."""

# List identifiers whose leading letters are not the maker's FLAG ID (Aidon's is ADN).
_LIST_MAKERS: Final = {"AIDON": "Aidon"}
_MAX_IDENTIFIER = 64
_HEX_DIGITS: Final = frozenset("0123456789abcdefABCDEF")
_IDENTIFICATION_PREFIX = 4  # the FLAG ID and the baud rate character
_MIN_HEX_ENCODED = 8  # hex digits: "45303034" is "E004", four characters
# What an identifier is made of once decoded: letters, digits and the separators makers put in them.
_IDENTIFIER_CHARACTERS: Final = frozenset(
    "0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz -_./"
)


def hex_encoded_text(text: str) -> str | None:
    """The text a hex-encoded identifier stands for ("4530303434" -> "E0044"), None when it is not one.

    DSMR (and the Belgian and Luxembourg P1 telegrams after it) sends the equipment identifiers as the
    hex of their ASCII characters. Recognised by structure: an even number of hex digits, at least
    eight, whose bytes are all identifier characters; a meter number of digits such as "12345678" is
    bytes 0x12 0x34 ..., not characters, and stays as it is.
    """
    if len(text) < _MIN_HEX_ENCODED or len(text) % 2 or not _HEX_DIGITS.issuperset(text):
        return None
    decoded = bytes.fromhex(text).decode("ascii", "replace").strip()
    return decoded if decoded and _IDENTIFIER_CHARACTERS.issuperset(decoded) else None


def text_of(reading: MeterReading | None) -> str | None:
    """An identifier as text: a string stripped of padding, hex-encoded text decoded, binary in hex."""
    if reading is None:
        return None
    value = reading.value
    if isinstance(value, bytes):
        value = value.rstrip(b"\x00").hex().upper()
    elif isinstance(value, int) and not isinstance(value, bool):
        value = str(value)
    elif isinstance(value, str):
        value = value.strip("\x00 ")
        value = hex_encoded_text(value) or value
    else:
        return None
    return value[:_MAX_IDENTIFIER] or None


def _first(readings: Mapping[ObisCode, MeterReading | None], codes: tuple[ObisCode, ...]) -> str | None:
    for code in codes:
        if (text := text_of(readings.get(code))) is not None:
            return text
    return None


def list_maker(list_identifier: str | None) -> str | None:
    """The maker a list identifier names: "KFM_001" -> Kaifa, "Kamstrup_V0001" -> Kamstrup."""
    if not list_identifier:
        return None
    head = list_identifier.split("_", 1)[0].upper()
    return _LIST_MAKERS.get(head) or flag_manufacturer(list_identifier)


def identification_model(identification: str | None) -> str | None:
    r"""The model an IEC 62056-21 identification names: "ISK5\2M550T-1013" -> "M550T-1013".

    After the FLAG ID and the baud rate character come the enhanced identification escapes (``\W``)
    and then the maker's own text, which is the meter type on most meters (MT174, T210-D, M550T).
    """
    if identification is None or len(identification) <= _IDENTIFICATION_PREFIX:
        return None
    rest = identification[_IDENTIFICATION_PREFIX:]
    while len(rest) >= 2 and rest[0] in "\\\x02":  # "\2" as sent, or its control character
        rest = rest[2:] if rest[0] == "\\" else rest[1:]
    return rest.strip()[:_MAX_IDENTIFIER] or None


def identity_from_readings(
    readings: Mapping[ObisCode, MeterReading | None],
    system_title: bytes | None = None,
    identification: str | None = None,
) -> MeterIdentity:
    """The meter's identity from the objects it sent (a telegram's, or a poll's).

    ``identification`` is a text telegram's or readout's IEC 62056-21 identification: it names the
    maker (its FLAG ID) and, when no object does, the model.
    """
    list_identifier = _first(readings, LIST_IDENTIFIER_CODES)
    return MeterIdentity(
        serial_number=_first(readings, METER_NUMBER_CODES),
        system_title=system_title,
        logical_device_name=_first(readings, (LOGICAL_DEVICE_NAME,)),
        model=_first(readings, METER_TYPE_CODES) or identification_model(identification),
        firmware=_first(readings, FIRMWARE_CODES),
        list_maker=list_maker(list_identifier),
        identification=identification,
    )


def merged(known: MeterIdentity, seen: MeterIdentity) -> MeterIdentity:
    """What is known, completed (never blanked) by what a telegram or poll showed since."""
    return MeterIdentity(
        serial_number=seen.serial_number or known.serial_number,
        system_title=seen.system_title or known.system_title,
        logical_device_name=seen.logical_device_name or known.logical_device_name,
        model=seen.model or known.model,
        firmware=seen.firmware or known.firmware,
        list_maker=seen.list_maker or known.list_maker,
        identification=seen.identification or known.identification,
    )
