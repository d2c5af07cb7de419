"""Meter manufacturers from their FLAG IDs.

The DLMS User Association assigns every maker of metering equipment a three-letter FLAG ID. It opens
the system title (3 ASCII bytes, then 5 bytes of device type and serial) and the COSEM logical device
name (0-0:42.0.0.255), so the manufacturer can be named without reading anything else. A registration
covers every mix of upper and lower case ("KFM", "kfm", "Kfm"), so matching ignores case.

Only the makers of smart electricity meters common on European customer ports are listed, each checked
against the published FLAG list; an unknown ID gives ``None`` rather than a guess.
"""

from __future__ import annotations

from typing import Final

FLAG_ID_LENGTH: Final = 3

MANUFACTURERS: Final[dict[str, str]] = {
    "ADN": "Aidon",
    "DZG": "DZG Metering",
    "EBZ": "eBZ",
    "EDM": "EDMI",
    "ELS": "Elster",
    "EMH": "EMH metering",
    "ESY": "EasyMeter",
    "HLY": "Holley",
    "ISK": "Iskraemeco",
    "ITE": "Itron",
    "ITF": "ITF Fröschl",
    "ITR": "Itron",
    "KAM": "Kamstrup",
    "KFM": "Kaifa",
    "LGB": "Landis+Gyr",
    "LGD": "Landis+Gyr",
    "LGZ": "Landis+Gyr",
    "LOG": "Logarex",
    "SAG": "Sagemcom",
    "SAM": "Siemens",
    "SET": "Sagemcom",
    "SIE": "Siemens",
    "ZIV": "ZIV",
    "ZPA": "ZPA Smart Energy",
}
"""FLAG ID -> the name the maker trades under today (SAGEM's SAG is Sagemcom's)."""


def flag_id(text: str | bytes | None) -> str | None:
    """The FLAG ID that opens a system title or logical device name, in upper case.

    ``None`` when the first three characters are not all ASCII letters (a system title that does not
    follow the FLAG convention, or an empty value).
    """
    if text is None:
        return None
    head = text[:FLAG_ID_LENGTH]
    if isinstance(head, bytes):
        if not head.isascii():
            return None
        head = head.decode("ascii")
    if len(head) != FLAG_ID_LENGTH or not (head.isascii() and head.isalpha()):
        return None
    return head.upper()


def flag_manufacturer(text: str | bytes | None) -> str | None:
    """The manufacturer named by the FLAG ID opening ``text``, or ``None`` when it is not a known one."""
    found = flag_id(text)
    return None if found is None else MANUFACTURERS.get(found)
