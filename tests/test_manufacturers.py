"""Manufacturer names from FLAG IDs in system titles and logical device names."""

import pytest

from custom_components.dlms_cosem.manufacturers import MANUFACTURERS, flag_id, flag_manufacturer
from custom_components.dlms_cosem.models import MeterIdentity


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        # The system title of the Kaifa telegram in the README: 4B 46 4D = "KFM".
        (bytes.fromhex("4B464D675C7A13B0"), "Kaifa"),
        (b"ADN\x01\x02\x03\x04\x05", "Aidon"),
        (b"KAM\x00\x00\x00\x00\x01", "Kamstrup"),
        (b"ISK\x01\x02\x03\x04\x05", "Iskraemeco"),
        (b"LGZ\x01\x02\x03\x04\x05", "Landis+Gyr"),
        (b"SAG\x01\x02\x03\x04\x05", "Sagemcom"),
        (b"EMH\x01\x02\x03\x04\x05", "EMH metering"),
        (b"ELS\x01\x02\x03\x04\x05", "Elster"),
        (b"ZPA\x01\x02\x03\x04\x05", "ZPA Smart Energy"),
        ("LGZ1030655933512", "Landis+Gyr"),
        ("KFM1200200000001", "Kaifa"),
        ("ISK1030775213859", "Iskraemeco"),
    ],
)
def test_known_flag_ids_name_their_maker(text: str | bytes, expected: str) -> None:
    assert flag_manufacturer(text) == expected


def test_itf_is_itf_froeschl_not_itron() -> None:
    # Itron registered ITE and ITR; ITF belongs to ITF Fröschl.
    assert flag_manufacturer("ITF0001") == "ITF Fröschl"
    assert flag_manufacturer("ITR0001") == "Itron"
    assert flag_manufacturer("ITE0001") == "Itron"


@pytest.mark.parametrize("text", ["kfm000001", "Kfm000001", b"kFm\x00\x01"])
def test_a_registration_covers_every_case(text: str | bytes) -> None:
    assert flag_id(text) == "KFM"
    assert flag_manufacturer(text) == "Kaifa"


def test_unknown_flag_id_is_reported_but_not_named() -> None:
    assert flag_id(b"XYZ\x01\x02\x03\x04\x05") == "XYZ"
    assert flag_manufacturer(b"XYZ\x01\x02\x03\x04\x05") is None


@pytest.mark.parametrize(
    "text",
    [
        None,
        b"",
        "",
        "KF",
        b"\x00\x01\x02\x03\x04\x05\x06\x07",  # a system title that does not follow the FLAG convention
        "123456",
        "K1M000",
        "ÄBC000",
        b"\xc4BC\x00\x00",
        " KFM",
    ],
)
def test_text_without_a_flag_id(text: str | bytes | None) -> None:
    assert flag_id(text) is None
    assert flag_manufacturer(text) is None


def test_table_keys_are_flag_ids() -> None:
    for key in MANUFACTURERS:
        assert len(key) == 3
        assert key.isascii()
        assert key.isalpha()
        assert key.isupper()


def test_identity_prefers_the_system_title() -> None:
    identity = MeterIdentity(system_title=b"KAM\x01\x02\x03\x04\x05", logical_device_name="LGZ1030655933512")
    assert identity.flag_id == "KAM"
    assert identity.manufacturer == "Kamstrup"


def test_identity_falls_back_to_the_logical_device_name() -> None:
    identity = MeterIdentity(system_title=b"\x00\x01\x02\x03\x04\x05\x06\x07", logical_device_name="ISK10307")
    assert identity.flag_id == "ISK"
    assert identity.manufacturer == "Iskraemeco"
    # A FLAG-shaped but unregistered system title does not hide a known logical device name.
    identity = MeterIdentity(system_title=b"QQQ\x01\x02\x03\x04\x05", logical_device_name="LGZ1")
    assert identity.flag_id == "QQQ"
    assert identity.manufacturer == "Landis+Gyr"


def test_identity_without_anything_to_go_on() -> None:
    identity = MeterIdentity(serial_number="7359992890941742")
    assert identity.flag_id is None
    assert identity.manufacturer is None
