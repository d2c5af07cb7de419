import math
import struct
from datetime import datetime, timedelta, timezone

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from custom_components.dlms_cosem.dlms.axdr import (
    COMPACT_ARRAY_VALUES_PER_BYTE,
    INTEGER_TAGS,
    MAX_NESTING_DEPTH,
    BitString,
    CompactArray,
    Data,
    DataTag,
    DataValue,
    TypeDescription,
    datetime_from_data,
    decode_data,
    decode_data_bytes,
    encode_data,
)
from custom_components.dlms_cosem.dlms.cosem_datetime import (
    ClockStatus,
    CosemDate,
    CosemDateTime,
    CosemTime,
    SpecialDay,
    SpecialMonth,
)
from custom_components.dlms_cosem.dlms.errors import DecodeError, DlmsError, EncodeError, NestingTooDeepError
from custom_components.dlms_cosem.dlms.reader import ByteReader

T = TypeDescription

# ----------------------------------------------------------------------------------------- vectors

# GET.response-normal "c401c1000600001391": the Data after the result choice.
GET_RESPONSE_DATA = "0600001391"
# GET.response-with-list "c403c10200...": two results, each 00 + Data.
WITH_LIST_BODY = "02" + "00" + "091049534b31303330373737373634333636" + "00" + "090c07e50603040e091700ffc400"
# GET.response-with-list-compound "c403c109...": nine results.
COMPOUND_BODY = (
    "09001200320012000000120000001200000012000000120000001208fe000207060190560b120326111111021200f0"
    "1200011200000002051202d0120ca8111811200fc0"
)
# Selective access by range: the access parameters structure.
RANGE_DESCRIPTOR = (
    "020402041200080906000001"
    + "0000ff0f02120000090c07e10a010700000000ffc480090c07e10a010701000000ffc4800100"
)
# Objects from the Aidon push telegram: {logical name, value, {scaler, unit}}.
AIDON_VOLTAGE = "020309060100200700ff12090302020fff1623"
AIDON_POWER = "020309060100010700ff060000046202020f00161b"
AIDON_CURRENT = "0203090601001f0700ff10000002020fff1621"
# Kamstrup push: list identifier and a meter id.
KAMSTRUP_LIST_ID = "0a0e4b616d73747275705f5630303031"


def test_get_response_double_long_unsigned() -> None:
    data = decode_data_bytes(bytes.fromhex(GET_RESPONSE_DATA))
    assert data == Data(DataTag.DOUBLE_LONG_UNSIGNED, 5009)
    assert data == Data.double_long_unsigned(5009)
    assert encode_data(data).hex() == GET_RESPONSE_DATA


def test_get_response_with_list() -> None:
    reader = ByteReader(bytes.fromhex(WITH_LIST_BODY))
    assert reader.count() == 2
    assert reader.u8() == 0
    first = decode_data(reader)
    assert first == Data.octet_string(b"ISK1030777764366")
    assert reader.u8() == 0
    second = decode_data(reader)
    assert second.tag is DataTag.OCTET_STRING
    assert reader.at_end
    stamp = datetime_from_data(second)
    assert stamp is not None
    assert stamp.to_datetime() == datetime(2021, 6, 3, 14, 9, 23, tzinfo=timezone(timedelta(hours=1)))
    assert stamp.deviation == -60
    assert stamp.clock_status == ClockStatus(0)


def test_get_response_with_list_compound() -> None:
    reader = ByteReader(bytes.fromhex(COMPOUND_BODY))
    results = []
    for _ in range(reader.count()):
        assert reader.u8() == 0
        results.append(decode_data(reader))
    assert reader.at_end
    assert [item.to_python() for item in results] == [
        50,
        0,
        0,
        0,
        0,
        0,
        2302,
        [26236427, 806, 17, 2, 240, 1, 0],
        [720, 3240, 24, 32, -64],
    ]
    assert results[7].value[0] == Data.double_long_unsigned(26236427)  # type: ignore[index]
    assert results[8].value[4] == Data.integer(-64)  # type: ignore[index]
    assert b"".join(encode_data(item) for item in results).hex() == "".join(
        part for part in _split_results(COMPOUND_BODY)
    )


def _split_results(body: str) -> list[str]:
    """The Data parts of a with-list body, read independently of the decoder (result byte 00 each)."""
    raw = bytes.fromhex(body)
    reader = ByteReader(raw)
    parts = []
    for _ in range(reader.count()):
        reader.u8()
        start = reader.position
        decode_data(reader)
        parts.append(raw[start : reader.position].hex())
    return parts


def test_selective_access_range_descriptor() -> None:
    data = decode_data_bytes(bytes.fromhex(RANGE_DESCRIPTOR))
    assert isinstance(data.value, tuple)
    restricting, start, end, columns = data.value
    assert restricting == Data.structure(
        Data.long_unsigned(8),
        Data.octet_string(bytes.fromhex("0000010000ff")),
        Data.integer(2),
        Data.long_unsigned(0),
    )
    from_time = datetime_from_data(start)
    to_time = datetime_from_data(end)
    assert from_time is not None
    assert to_time is not None
    assert from_time.clock_status == ClockStatus.DAYLIGHT_SAVING_ACTIVE
    assert to_time.to_datetime() == datetime(2017, 10, 1, 1, tzinfo=timezone(timedelta(hours=1)))
    assert columns == Data.array()
    assert encode_data(data).hex() == RANGE_DESCRIPTOR


@pytest.mark.parametrize(
    ("raw", "obis", "value", "scaler", "unit"),
    [
        (AIDON_VOLTAGE, "0100200700ff", Data.long_unsigned(2307), -1, 35),
        (AIDON_POWER, "0100010700ff", Data.double_long_unsigned(1122), 0, 27),
        (AIDON_CURRENT, "01001f0700ff", Data.long(0), -1, 33),
    ],
)
def test_aidon_register_objects(raw: str, obis: str, value: Data, scaler: int, unit: int) -> None:
    data = decode_data_bytes(bytes.fromhex(raw))
    assert data == Data.structure(
        Data.octet_string(bytes.fromhex(obis)),
        value,
        Data.structure(Data.integer(scaler), Data.enum(unit)),
    )
    assert encode_data(data).hex() == raw


def test_kamstrup_visible_string() -> None:
    data = decode_data_bytes(bytes.fromhex(KAMSTRUP_LIST_ID))
    assert data == Data.visible_string("Kamstrup_V0001")
    assert encode_data(data).hex() == KAMSTRUP_LIST_ID


# ------------------------------------------------------------------------------- every type, by hand


@pytest.mark.parametrize(
    ("data", "encoded"),
    [
        (Data.null_data(), "00"),
        (Data.dont_care(), "ff"),
        (Data.boolean(True), "0301"),
        (Data.boolean(False), "0300"),
        (Data.bit_string([True, False, True, True, False, False, False, False, True]), "04" + "09" + "b080"),
        (Data.bit_string(BitString(0, b"")), "0400"),
        (Data.double_long(-2), "05fffffffe"),
        (Data.double_long(-(2**31)), "0580000000"),
        (Data.double_long_unsigned(2**32 - 1), "06ffffffff"),
        (Data.octet_string(b""), "0900"),
        (Data.octet_string(bytes.fromhex("0100010800ff")), "09060100010800ff"),
        (Data.octet_string(bytes(128)), "098180" + "00" * 128),
        (Data.octet_string(bytes(256)), "09820100" + "00" * 256),
        (Data.visible_string("ABC"), "0a03414243"),
        (Data.visible_string("\xe4"), "0a01e4"),
        (Data.utf8_string("\xe4\u20ac"), "0c05c3a4e282ac"),
        (Data.bcd(0x99), "0d99"),
        (Data.integer(-128), "0f80"),
        (Data.integer(127), "0f7f"),
        (Data.long(-32768), "108000"),
        (Data.unsigned(255), "11ff"),
        (Data.long_unsigned(65535), "12ffff"),
        (Data.long64(-1), "14ffffffffffffffff"),
        (Data.long64(2**63 - 1), "147fffffffffffffff"),
        (Data.long64_unsigned(2**64 - 1), "15ffffffffffffffff"),
        (Data.enum(27), "161b"),
        (Data.float32(1.0), "173f800000"),
        (Data.float32(-2.5), "17c0200000"),
        (Data.float64(0.1), "183fb999999999999a"),
        (Data.float64(math.inf), "187ff0000000000000"),
        (
            Data.date_time(CosemDateTime.from_bytes(bytes.fromhex("07e50603040e091700ffc400"))),
            "1907e50603040e091700ffc400",
        ),
        (
            Data.date(CosemDate(None, SpecialMonth.DAYLIGHT_SAVINGS_BEGIN, SpecialDay.LAST_DAY_OF_MONTH, 7)),
            "1afffffefe07",
        ),
        (Data.time(CosemTime(23, 59, None, None)), "1b173bffff"),
        (Data.array(), "0100"),
        (Data.array(Data.unsigned(1), Data.unsigned(2)), "0102" + "1101" + "1102"),
        (Data.structure(Data.null_data(), Data.structure()), "0202" + "00" + "0200"),
    ],
)
def test_encoding(data: Data, encoded: str) -> None:
    assert encode_data(data).hex() == encoded
    assert decode_data_bytes(bytes.fromhex(encoded)) == data


def test_python_value_types() -> None:
    assert decode_data_bytes(bytes.fromhex("0302")).value is True  # any non-zero byte is TRUE
    assert type(decode_data_bytes(bytes.fromhex("173f800000")).value) is float
    assert type(decode_data_bytes(bytes.fromhex("09020102")).value) is bytes
    assert decode_data_bytes(bytes.fromhex("0100")).value == ()
    assert isinstance(decode_data_bytes(bytes.fromhex("1907e50603040e091700ffc400")).value, CosemDateTime)
    assert isinstance(decode_data_bytes(bytes.fromhex("1a07e50603ff")).value, CosemDate)
    assert isinstance(decode_data_bytes(bytes.fromhex("1b0e091700")).value, CosemTime)


def test_nan_keeps_its_bytes() -> None:
    for encoded in ("177fc00000", "17ffc00001", "187ff8000000000000", "18fff8000000000001"):
        data = decode_data_bytes(bytes.fromhex(encoded))
        assert isinstance(data.value, float)
        assert math.isnan(data.value)
        assert encode_data(data).hex() == encoded


def test_bit_string_helpers() -> None:
    bits = BitString.from_bits([1, 0, 1])
    assert bits == BitString(3, b"\xa0")
    assert bits.bits == (True, False, True)
    assert str(bits) == "101"
    # padding bits are kept as received so the bytes round-trip
    odd = decode_data_bytes(bytes.fromhex("0403a1"))
    assert odd.value == BitString(3, b"\xa1")
    assert odd.value.bits == (True, False, True)
    assert encode_data(odd).hex() == "0403a1"
    with pytest.raises(EncodeError):
        BitString(9, b"\x00")
    with pytest.raises(EncodeError):
        BitString(-1, b"")


def test_to_python() -> None:
    data = Data.structure(
        Data.octet_string(b"\x01"),
        Data.array(Data.long(-1), Data.boolean(True)),
        Data.compact_array(T.simple(DataTag.UNSIGNED), Data.unsigned(1), Data.unsigned(2)),
        Data.null_data(),
    )
    assert data.to_python() == [b"\x01", [-1, True], [1, 2], None]
    stamp = CosemTime(1, 2, 3, 4)
    assert Data.time(stamp).to_python() is stamp


# --------------------------------------------------------------------------------------- compact-array


def test_compact_array_of_simple_type() -> None:
    data = Data.compact_array(T.simple(DataTag.LONG_UNSIGNED), Data.long_unsigned(1), Data.long_unsigned(258))
    assert encode_data(data).hex() == "13" + "12" + "04" + "0001" + "0102"
    assert decode_data_bytes(bytes.fromhex("13120400010102")) == data


def test_compact_array_of_structures() -> None:
    # A load-profile-like layout: {date-time, double-long-unsigned, octet-string, array[2] of long}.
    description = T.structure(
        T.simple(DataTag.DATE_TIME),
        T.simple(DataTag.DOUBLE_LONG_UNSIGNED),
        T.simple(DataTag.OCTET_STRING),
        T.array(2, T.simple(DataTag.LONG)),
    )
    stamp = CosemDateTime.from_bytes(bytes.fromhex("07e50603040e091700ffc400"))
    rows = [
        Data.structure(
            Data.date_time(stamp),
            Data.double_long_unsigned(5009),
            Data.octet_string(b"ab"),
            Data.array(Data.long(-1), Data.long(7)),
        ),
        Data.structure(
            Data.date_time(stamp),
            Data.double_long_unsigned(1),
            Data.octet_string(b""),
            Data.array(Data.long(3), Data.long(4)),
        ),
    ]
    encoded = (
        "13"
        + "0204" + "19" + "06" + "09" + "01" + "0002" + "10"  # description
        + "2c"  # contents length 44
        + "07e50603040e091700ffc400" + "00001391" + "026162" + "ffff" + "0007"
        + "07e50603040e091700ffc400" + "00000001" + "00" + "0003" + "0004"
    )  # fmt: skip
    data = Data.compact_array(description, *rows)
    assert encode_data(data).hex() == encoded
    decoded = decode_data_bytes(bytes.fromhex(encoded))
    assert decoded == data
    assert isinstance(decoded.value, CompactArray)
    assert decoded.value.description.elements[3].element == T.simple(DataTag.LONG)


def test_compact_array_empty_and_zero_size_elements() -> None:
    assert decode_data_bytes(bytes.fromhex("131100")) == Data.compact_array(T.simple(DataTag.UNSIGNED))
    assert decode_data_bytes(bytes.fromhex("130000")) == Data.compact_array(T.simple(DataTag.NULL_DATA))
    assert decode_data_bytes(bytes.fromhex("1301000511" + "00")).value == CompactArray(
        T.array(5, T.simple(DataTag.UNSIGNED)), ()
    )
    with pytest.raises(DecodeError, match="take no bytes"):
        decode_data_bytes(bytes.fromhex("13000101"))
    with pytest.raises(DecodeError, match="take no bytes"):
        decode_data_bytes(bytes.fromhex("130200" + "0101"))
    with pytest.raises(EncodeError, match="take no bytes"):
        encode_data(Data.compact_array(T.simple(DataTag.NULL_DATA), Data.null_data()))
    with pytest.raises(EncodeError, match="take no bytes"):
        encode_data(Data.compact_array(T.array(0, T.simple(DataTag.UNSIGNED)), Data.array()))


def test_compact_array_expansion_is_bounded() -> None:
    # Each element: an array of 65535 null-data plus one unsigned byte: tiny input, huge expansion.
    description = "13" + "0202" + "01ffff00" + "11"
    with pytest.raises(DecodeError, match="expands"):
        decode_data_bytes(bytes.fromhex(description + "02" + "0102"))
    many_nulls = T.structure(*([T.simple(DataTag.NULL_DATA)] * 10), T.simple(DataTag.UNSIGNED))
    element = Data.structure(*([Data.null_data()] * 10), Data.unsigned(1))
    small = Data.compact_array(many_nulls, *([element] * 4))
    assert decode_data_bytes(encode_data(small)) == small
    big = Data.compact_array(many_nulls, *([element] * 100))
    with pytest.raises(EncodeError, match="more values than bytes"):
        encode_data(big)
    assert COMPACT_ARRAY_VALUES_PER_BYTE >= 2


@pytest.mark.parametrize(
    "encoded",
    [
        "13" + "13" + "00",  # compact-array inside a description
        "13" + "07" + "00",  # unknown tag in a description
        "13" + "01" + "00",  # array description truncated (no count)
        "13" + "0100" + "05",  # array description without element description
        "13" + "0203" + "1111",  # structure description with fewer members than claimed
        "13" + "11" + "05" + "0102",  # contents shorter than their length
        "13" + "12" + "03" + "000102",  # contents end inside an element
        "13" + "0202" + "1111" + "03" + "010203",  # contents end inside a structure element
        "13" + "09" + "02" + "0501",  # octet-string element longer than the contents
        "13",
    ],
)
def test_compact_array_malformed(encoded: str) -> None:
    with pytest.raises(DecodeError):
        decode_data_bytes(bytes.fromhex(encoded))


def test_compact_array_description_nesting_is_bounded() -> None:
    depth_ok = "13" + "0201" * (MAX_NESTING_DEPTH - 1) + "11" + "01" + "05"
    assert decode_data_bytes(bytes.fromhex(depth_ok)).to_python() == [_nest(5, MAX_NESTING_DEPTH - 1)]
    too_deep = "13" + "0201" * MAX_NESTING_DEPTH + "11" + "01" + "05"
    with pytest.raises(NestingTooDeepError):
        decode_data_bytes(bytes.fromhex(too_deep))
    description = T.simple(DataTag.UNSIGNED)
    for _ in range(MAX_NESTING_DEPTH):
        description = T.structure(description)
    with pytest.raises(EncodeError, match="nests deeper"):
        encode_data(Data.compact_array(description))


def _nest(value: object, levels: int) -> object:
    for _ in range(levels):
        value = [value]
    return value


def test_compact_array_encode_checks_elements_against_description() -> None:
    description = T.structure(T.simple(DataTag.UNSIGNED), T.array(2, T.simple(DataTag.LONG)))
    bad = [
        Data.unsigned(1),  # not a structure
        Data.structure(Data.unsigned(1)),  # too few members
        Data.structure(Data.long(1), Data.array(Data.long(1), Data.long(2))),  # wrong member type
        Data.structure(Data.unsigned(1), Data.array(Data.long(1))),  # wrong array count
        Data.structure(Data.unsigned(300), Data.array(Data.long(1), Data.long(2))),  # out of range
    ]
    for element in bad:
        with pytest.raises(EncodeError):
            encode_data(Data.compact_array(description, element))
    with pytest.raises(EncodeError):
        encode_data(Data(DataTag.COMPACT_ARRAY, (Data.unsigned(1),)))
    with pytest.raises(EncodeError):
        encode_data(Data(DataTag.COMPACT_ARRAY, CompactArray("11", ())))  # type: ignore[arg-type]


def test_type_description_validation() -> None:
    assert T.simple(DataTag.UNSIGNED) == T(DataTag.UNSIGNED)
    assert T(17).tag is DataTag.UNSIGNED  # type: ignore[arg-type]
    assert T.array(3, T.simple(DataTag.LONG)).element == T.simple(DataTag.LONG)
    with pytest.raises(EncodeError):
        T.simple(DataTag.COMPACT_ARRAY)
    with pytest.raises(EncodeError):
        T(7)  # type: ignore[arg-type]
    with pytest.raises(EncodeError):
        T.array(65536, T.simple(DataTag.LONG))
    with pytest.raises(EncodeError):
        T(DataTag.ARRAY, 2, ())
    with pytest.raises(EncodeError):
        T(DataTag.UNSIGNED, 2)
    with pytest.raises(EncodeError):
        T(DataTag.UNSIGNED, 0, (T.simple(DataTag.LONG),))
    with pytest.raises(EncodeError):
        _ = T.simple(DataTag.LONG).element


# ------------------------------------------------------------------------------------------- errors


@pytest.mark.parametrize("tag", [7, 8, 11, 14, 28, 100, 254])
def test_unknown_tag(tag: int) -> None:
    with pytest.raises(DecodeError, match="unknown data tag"):
        decode_data_bytes(bytes([tag, 0, 0, 0, 0, 0, 0, 0, 0]))


@pytest.mark.parametrize(
    "encoded",
    [
        "",
        "03",
        "0500",
        "06000013",
        "0901",
        "098180" + "00" * 127,
        "0984ffffffff",
        "0a02" + "41",
        "0409" + "ff",
        "0481ff" + "00",
        "0480",
        "0485" + "0000000001",
        "14ffffffffffffff",
        "17000000",
        "18" + "00" * 7,
        "1907e50603040e091700ffc4",
        "1a07e50603",
        "1b0e0917",
        "0103" + "1101" + "1102",
        "0105" + "00",
        "0284ffffffff" + "00",
        "0c02" + "c3",
        "0c01" + "ff",  # not UTF-8
        "0c02" + "c328",  # not UTF-8
        "1a07e50d03ff",  # month 13
        "1b18000000",  # hour 24
    ],
)
def test_malformed(encoded: str) -> None:
    with pytest.raises(DecodeError):
        decode_data_bytes(bytes.fromhex(encoded))


def test_non_bytes_input_rejected() -> None:
    with pytest.raises(DecodeError):
        decode_data_bytes("0600001391")  # type: ignore[arg-type]


def test_trailing_bytes_rejected() -> None:
    with pytest.raises(DecodeError, match="unexpected"):
        decode_data_bytes(bytes.fromhex("110100"))
    reader = ByteReader(bytes.fromhex("110100"))
    assert decode_data(reader) == Data.unsigned(1)
    assert reader.remaining == 1


def test_nesting_depth_is_bounded() -> None:
    deepest = "0101" * MAX_NESTING_DEPTH + "00"
    data = decode_data_bytes(bytes.fromhex(deepest))
    assert encode_data(data).hex() == deepest
    with pytest.raises(NestingTooDeepError):
        decode_data_bytes(bytes.fromhex("0101" * (MAX_NESTING_DEPTH + 1) + "00"))
    with pytest.raises(NestingTooDeepError):
        decode_data_bytes(bytes.fromhex("0201" * 5000 + "00"))
    too_deep = Data.null_data()
    for _ in range(MAX_NESTING_DEPTH + 1):
        too_deep = Data.structure(too_deep)
    with pytest.raises(EncodeError, match="nests deeper"):
        encode_data(too_deep)


@pytest.mark.parametrize(
    "data",
    [
        Data.unsigned(256),
        Data.unsigned(-1),
        Data.integer(128),
        Data.integer(-129),
        Data.long(32768),
        Data.long_unsigned(65536),
        Data.double_long(2**31),
        Data.double_long_unsigned(-1),
        Data.long64(2**63),
        Data.long64_unsigned(2**64),
        Data.enum(256),
        Data.bcd(256),
        Data(DataTag.UNSIGNED, True),
        Data(DataTag.UNSIGNED, 1.0),
        Data(DataTag.BOOLEAN, 1),
        Data(DataTag.NULL_DATA, 0),
        Data(DataTag.FLOAT32, 1e39),
        Data(DataTag.FLOAT32, "1.0"),
        Data(DataTag.FLOAT64, True),
        Data(DataTag.OCTET_STRING, "text"),
        Data(DataTag.VISIBLE_STRING, b"bytes"),
        Data.visible_string("\u20ac"),
        Data.utf8_string("\ud800"),
        Data(DataTag.BIT_STRING, b"\x00"),
        Data(DataTag.DATE_TIME, CosemDate(None, None, None, None)),
        Data(DataTag.DATE, CosemTime(None, None, None, None)),
        Data(DataTag.ARRAY, Data.unsigned(1)),  # type: ignore[arg-type]
        Data.structure(Data.unsigned(1), 5),  # type: ignore[arg-type]
        Data(7, None),  # type: ignore[arg-type]
        Data([], None),  # type: ignore[arg-type]
    ],
)
def test_encode_rejects(data: Data) -> None:
    with pytest.raises(EncodeError):
        encode_data(data)


def test_encode_rejects_non_data() -> None:
    with pytest.raises(EncodeError):
        encode_data(5)  # type: ignore[arg-type]


def test_enum_members_encode_as_ints() -> None:
    assert encode_data(Data.enum(DataTag.LONG)).hex() == "1610"
    assert encode_data(Data.float64(3)).hex() == "18" + struct.pack(">d", 3.0).hex()


# ------------------------------------------------------------------------------- datetime_from_data


def test_datetime_from_data() -> None:
    stamp = CosemDateTime.from_bytes(bytes.fromhex("07e30c1001073b28ff8000ff"))
    assert datetime_from_data(Data.date_time(stamp)) == stamp
    assert datetime_from_data(decode_data_bytes(bytes.fromhex("090c07e30c1001073b28ff8000ff"))) == stamp
    assert stamp.to_datetime() == datetime(2019, 12, 16, 7, 59, 40)
    # octet-strings that are not a date-time
    assert datetime_from_data(Data.octet_string(bytes.fromhex("07e30d1001073b28ff8000ff"))) is None
    assert datetime_from_data(Data.octet_string(b"ISK103077777")) is None
    assert datetime_from_data(Data.octet_string(bytes.fromhex("07e30c1001073b28ff8000"))) is None
    assert datetime_from_data(Data.visible_string("2019-12-16")) is None
    assert datetime_from_data(Data.date(stamp.date)) is None
    assert datetime_from_data(Data.double_long_unsigned(5009)) is None


# --------------------------------------------------------------------------- property-based round trips

INTEGER_RANGES = {
    DataTag.INTEGER: (-(2**7), 2**7 - 1),
    DataTag.LONG: (-(2**15), 2**15 - 1),
    DataTag.DOUBLE_LONG: (-(2**31), 2**31 - 1),
    DataTag.LONG64: (-(2**63), 2**63 - 1),
    DataTag.UNSIGNED: (0, 255),
    DataTag.LONG_UNSIGNED: (0, 2**16 - 1),
    DataTag.DOUBLE_LONG_UNSIGNED: (0, 2**32 - 1),
    DataTag.LONG64_UNSIGNED: (0, 2**64 - 1),
    DataTag.ENUM: (0, 255),
    DataTag.BCD: (0, 255),
}
assert set(INTEGER_RANGES) >= INTEGER_TAGS

dates = st.builds(
    CosemDate,
    year=st.none() | st.integers(0, 0xFFFE),
    month=st.none() | st.integers(1, 12) | st.sampled_from(list(SpecialMonth)),
    day_of_month=st.none() | st.integers(1, 31) | st.sampled_from(list(SpecialDay)),
    day_of_week=st.none() | st.integers(1, 7),
)
times = st.builds(
    CosemTime,
    hour=st.none() | st.integers(0, 23),
    minute=st.none() | st.integers(0, 59),
    second=st.none() | st.integers(0, 59),
    hundredths=st.none() | st.integers(0, 99),
)
date_times = st.builds(
    CosemDateTime,
    date=dates,
    time=times,
    deviation=st.none() | st.integers(-840, 840),
    clock_status=st.none() | st.integers(0, 254).map(ClockStatus),
)
bit_strings = st.integers(0, 40).flatmap(
    lambda n: st.binary(min_size=(n + 7) // 8, max_size=(n + 7) // 8).map(lambda raw: BitString(n, raw))
)


def values_for(tag: DataTag) -> st.SearchStrategy[DataValue]:
    """Python values of one simple type (floats exactly representable; no NaN: it never equals itself)."""
    if tag in INTEGER_RANGES:
        low, high = INTEGER_RANGES[tag]
        return st.integers(low, high)
    strategies: dict[DataTag, st.SearchStrategy[DataValue]] = {
        DataTag.NULL_DATA: st.none(),
        DataTag.DONT_CARE: st.none(),
        DataTag.BOOLEAN: st.booleans(),
        DataTag.BIT_STRING: bit_strings,
        DataTag.FLOAT32: st.floats(width=32, allow_nan=False),
        DataTag.FLOAT64: st.floats(allow_nan=False),
        DataTag.OCTET_STRING: st.binary(max_size=140),
        DataTag.VISIBLE_STRING: st.text(st.characters(max_codepoint=255), max_size=20),
        DataTag.UTF8_STRING: st.text(max_size=20),
        DataTag.DATE_TIME: date_times,
        DataTag.DATE: dates,
        DataTag.TIME: times,
    }
    return strategies[tag]


SIMPLE_TAGS = sorted(set(DataTag) - {DataTag.ARRAY, DataTag.STRUCTURE, DataTag.COMPACT_ARRAY})
scalars = st.sampled_from(SIMPLE_TAGS).flatmap(
    lambda tag: values_for(tag).map(lambda value: Data(tag, value))
)


def descriptions(depth: int) -> st.SearchStrategy[TypeDescription]:
    simple = st.sampled_from(SIMPLE_TAGS).map(TypeDescription.simple)
    if depth == 0:
        return simple
    inner = descriptions(depth - 1)
    return st.one_of(
        simple,
        st.builds(TypeDescription.array, st.integers(0, 3), inner),
        st.lists(inner, max_size=3).map(lambda members: TypeDescription.structure(*members)),
    )


def element_for(description: TypeDescription) -> st.SearchStrategy[Data]:
    if description.tag is DataTag.ARRAY:
        items = [element_for(description.element)] * description.count
        return st.tuples(*items).map(lambda values: Data(DataTag.ARRAY, values))
    if description.tag is DataTag.STRUCTURE:
        members = [element_for(member) for member in description.elements]
        return st.tuples(*members).map(lambda values: Data(DataTag.STRUCTURE, values))
    return values_for(description.tag).map(lambda value: Data(description.tag, value))


def _zero_size(description: TypeDescription) -> bool:
    if description.tag in (DataTag.NULL_DATA, DataTag.DONT_CARE):
        return True
    if description.tag is DataTag.ARRAY:
        return description.count == 0 or _zero_size(description.element)
    if description.tag is DataTag.STRUCTURE:
        return all(_zero_size(member) for member in description.elements)
    return False


def _compact_arrays(description: TypeDescription) -> st.SearchStrategy[Data]:
    count = st.just(0) if _zero_size(description) else st.integers(0, 4)
    return count.flatmap(
        lambda n: st.lists(element_for(description), min_size=n, max_size=n).map(
            lambda elements: Data.compact_array(description, *elements)
        )
    )


compact_arrays = descriptions(2).flatmap(_compact_arrays)


def data_values(depth: int) -> st.SearchStrategy[Data]:
    """Arbitrary Data nested at most ``depth`` container levels (well inside MAX_NESTING_DEPTH)."""
    if depth == 0:
        return scalars | compact_arrays
    inner = data_values(depth - 1)
    return st.one_of(
        scalars,
        compact_arrays,
        st.lists(inner, max_size=4).map(lambda items: Data.array(*items)),
        st.lists(inner, max_size=4).map(lambda items: Data.structure(*items)),
    )


any_data = data_values(3)


@given(any_data)
@settings(max_examples=200, suppress_health_check=[HealthCheck.too_slow])
def test_round_trip(data: Data) -> None:
    encoded = encode_data(data)
    decoded = decode_data_bytes(encoded)
    assert decoded == data
    assert encode_data(decoded) == encoded
    decoded.to_python()


@given(st.floats(width=32) | st.floats(), st.booleans())
@settings(max_examples=200)
def test_float_round_trip_including_nan(value: float, single: bool) -> None:
    data = Data.float32(value) if single else Data.float64(value)
    if single and not math.isnan(value):
        try:
            value = struct.unpack(">f", struct.pack(">f", value))[0]
        except OverflowError:  # rounds beyond the largest float32
            with pytest.raises(EncodeError):
                encode_data(data)
            return
        data = Data.float32(value)
    encoded = encode_data(data)
    decoded = decode_data_bytes(encoded)
    assert encode_data(decoded) == encoded  # NaN never equals itself: compare bytes
    if not math.isnan(value):
        assert decoded == data


@given(st.binary(max_size=64))
@settings(max_examples=300)
def test_fuzz_random_bytes(raw: bytes) -> None:
    try:
        data = decode_data_bytes(raw)
    except DlmsError:
        return
    reencoded = encode_data(data)
    assert decode_data_bytes(reencoded) == data or _has_nan(data)


@given(any_data, st.data())
@settings(max_examples=150, suppress_health_check=[HealthCheck.too_slow])
def test_fuzz_mutated_valid_input(data: Data, draw: st.DataObject) -> None:
    raw = bytearray(encode_data(data))
    for _ in range(draw.draw(st.integers(1, 4))):
        action = draw.draw(st.sampled_from(["flip", "insert", "delete", "truncate"]))
        position = draw.draw(st.integers(0, max(len(raw) - 1, 0)))
        if action == "flip" and raw:
            raw[position] = draw.draw(st.integers(0, 255))
        elif action == "insert":
            raw.insert(position, draw.draw(st.integers(0, 255)))
        elif action == "delete" and raw:
            del raw[position]
        else:
            del raw[position:]
    try:
        decoded = decode_data_bytes(bytes(raw))
    except DlmsError:
        return
    encode_data(decoded)


def _has_nan(data: Data) -> bool:
    value = data.value
    if isinstance(value, float):
        return math.isnan(value)
    if isinstance(value, tuple):
        return any(_has_nan(item) for item in value)
    if isinstance(value, CompactArray):
        return any(_has_nan(item) for item in value.elements)
    return False
