"""Ciphered xDLMS APDUs: tags from the IEC 62056-5-3 ASN.1, Green Book examples and real meter pushes."""

from collections.abc import Callable

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from custom_components.dlms_cosem.dlms.apdu.tags import ApduTag
from custom_components.dlms_cosem.dlms.errors import (
    AuthenticationTagMismatchError,
    DecodeError,
    DlmsError,
    EncodeError,
    MissingKeyError,
    SecurityError,
)
from custom_components.dlms_cosem.dlms.reader import ByteReader
from custom_components.dlms_cosem.dlms.security import (
    CIPHERED_APDU_TAGS,
    CipheredApdu,
    SecurityControl,
    SecurityKeys,
    UnprotectedApdu,
    decode_ciphered_apdu,
    is_ciphered_tag,
    is_general_tag,
    protect,
    read_ciphered_apdu,
    unprotect,
)

# Green Book examples (shared vectors greenbook-gcm-get and greenbook-glo-initiate).
GB_EK = bytes.fromhex("000102030405060708090A0B0C0D0E0F")
GB_AK = bytes.fromhex("D0D1D2D3D4D5D6D7D8D9DADBDCDDDEDF")
GB_KEYS = SecurityKeys(GB_EK, GB_AK)
GB_TITLE = bytes.fromhex("4D4D4D0000BC614E")
GB_IC = 0x01234567
GLO_GET_REQUEST = bytes.fromhex("C81E3001234567" + "411312FF935A47566827C467BC" + "7D825C3BE4A77C3FCC056B6B")
GET_REQUEST_PLAINTEXT = bytes.fromhex("C0010000080000010000FF0200")
INITIATE_PLAINTEXT = bytes.fromhex("01011000112233445566778899AABBCCDDEEFF0000065F1F0400007E1F04B0")
GLO_INITIATE_REQUEST = bytes.fromhex(
    "21303001234567801302FF8A7874133D414CED25B42534D28DB0047720606B175BD52211BE6841DB204D39EE6FDB8E356855"
)

# general-glo-ciphering push (shared vector dlms-cosem-general-glo-ciphering).
GGC_KEY = bytes.fromhex("4D5944554D4D59474C4F42414C4B4559")
GGC_APDU = bytes.fromhex(
    "db082f192291991641033b30000001e5025ce9d2271fd78be8c204211a916a9d7f587e0a7a814cadea89e9593f01f92ea8"
    "c087b5bdfdefeab6becf282dfe49c08f5be6dc8400"
)
GGC_PLAINTEXT = bytes.fromhex(
    "0f000001db000922125a8591360000000049000000110000000a5a8513d014800000000d0000000a0100"
)

# Netz NOE (Kaifa) push over M-Bus, encryption only (shared vector netz-noe-mbus-encrypted).
NOE_EK = bytes.fromhex("36C66639E48A8CA4D6BC8B282A793BBB")
NOE_FRAMES = (
    bytes.fromhex(
        "68FAFA6853FF000167DB084B464D675000000981F8200000002388D5AB4F97515AAFC6B88D2F85DAA7A0E3C0C40D004535C3"
        "97C9D037AB7DBDA329107615444894A1A0DD7E85F02D496CECD3FF46AF5FB3C9229CFE8F3EE4606AB2E1F409F36AAD2E5090"
        "0A4396FC6C2E083F373233A69616950758BFC7D63A9E9B6E99E21B2CBC2B934772CA51FD4D69830711CAB1F8CFF25F0A3293"
        "37CBA51904F0CAED88D61968743C8454BA922EB00038182C22FE316D16F2A9F544D6F75D51A4E92A1C4EF8AB19A2B7FEAA32"
        "D0726C0ED80229AE6C0F7621A4209251ACE2B2BC66FF0327A653BB686C756BE033C7A281F1D2A7E1FA31C3983E15F8FD16CC"
        "5787E6F51716"
    ),
    bytes.fromhex("6814146853FF110167419A3CFDA44BE438C96F0E38BF83D98316"),
)
NOE_PLAINTEXT = bytes.fromhex(
    "0f8006870e0c07e5091b01092f0f00ff88800223090c07e5091b01092f0f00ff888009060100010800ff060000328902020f"
    "00161e09060100020800ff060000000002020f00161e09060100010700ff060000000002020f00161b09060100020700ff06"
    "0000000002020f00161b09060100200700ff12092102020fff162309060100340700ff12000002020fff1623090601004807"
    "00ff12000002020fff1623090601001f0700ff12000002020ffe162109060100330700ff12000002020ffe16210906010047"
    "0700ff12000002020ffe1621090601000d0700ff1203e802020ffd16ff090c313831323230303030303039"
)

ALL_KEYS = (GB_EK, GB_AK, GGC_KEY, NOE_EK)


def assert_no_key_material(*objects: object) -> None:
    for obj in objects:
        for rendered in (str(obj), repr(obj)):
            for key in ALL_KEYS:
                for text in (key.hex(), key.hex().upper(), repr(key)):
                    assert text not in rendered


def mbus_payload(frame: bytes) -> bytes:
    """The APDU bytes of one M-Bus long frame: 68 L L 68, C A CI, two bytes, data, checksum, 16."""
    length = frame[1]
    assert frame[0] == frame[3] == 0x68
    assert frame[2] == length
    assert len(frame) == length + 6
    assert frame[-1] == 0x16
    assert sum(frame[4 : 4 + length]) & 0xFF == frame[-2]
    return frame[9:-2]


NOE_APDU = b"".join(mbus_payload(frame) for frame in NOE_FRAMES)


# --- tags -------------------------------------------------------------------------------------------

STANDARD_TAGS = {
    "GLO_INITIATE_REQUEST": 33,
    "GLO_READ_REQUEST": 37,
    "GLO_WRITE_REQUEST": 38,
    "GLO_INITIATE_RESPONSE": 40,
    "GLO_READ_RESPONSE": 44,
    "GLO_WRITE_RESPONSE": 45,
    "GLO_CONFIRMED_SERVICE_ERROR": 46,
    "GLO_UNCONFIRMED_WRITE_REQUEST": 54,
    "GLO_INFORMATION_REPORT_REQUEST": 56,
    "DED_INITIATE_REQUEST": 65,
    "DED_READ_REQUEST": 69,
    "DED_WRITE_REQUEST": 70,
    "DED_INITIATE_RESPONSE": 72,
    "DED_READ_RESPONSE": 76,
    "DED_WRITE_RESPONSE": 77,
    "DED_CONFIRMED_SERVICE_ERROR": 78,
    "DED_UNCONFIRMED_WRITE_REQUEST": 86,
    "DED_INFORMATION_REPORT_REQUEST": 88,
    "GLO_GET_REQUEST": 0xC8,
    "GLO_SET_REQUEST": 0xC9,
    "GLO_EVENT_NOTIFICATION_REQUEST": 0xCA,
    "GLO_ACTION_REQUEST": 0xCB,
    "GLO_GET_RESPONSE": 0xCC,
    "GLO_SET_RESPONSE": 0xCD,
    "GLO_ACTION_RESPONSE": 0xCF,
    "DED_GET_REQUEST": 0xD0,
    "DED_SET_REQUEST": 0xD1,
    "DED_EVENT_NOTIFICATION_REQUEST": 0xD2,
    "DED_ACTION_REQUEST": 0xD3,
    "DED_GET_RESPONSE": 0xD4,
    "DED_SET_RESPONSE": 0xD5,
    "DED_ACTION_RESPONSE": 0xD7,
    "GENERAL_GLO_CIPHERING": 219,
    "GENERAL_DED_CIPHERING": 220,
}


def test_tag_values_follow_the_asn1() -> None:
    assert {tag.name: int(tag) for tag in CIPHERED_APDU_TAGS} == STANDARD_TAGS


@pytest.mark.parametrize(
    "tag", [0x00, 0x01, 0x0F, 0x60, 0x61, 0xC0, 0xC4, 0xCE, 0xD6, 0xD8, 0xDD, 0xE0, 0xFF]
)
def test_other_tags_are_not_ciphered(tag: int) -> None:
    assert not is_ciphered_tag(tag)


def test_general_and_dedicated_classification() -> None:
    assert is_general_tag(219)
    assert is_general_tag(220)
    assert not is_general_tag(200)
    assert decode_ciphered_apdu(GGC_APDU).is_general
    assert not decode_ciphered_apdu(GGC_APDU).is_dedicated
    dedicated = CipheredApdu(0xD0, None, SecurityControl.from_byte(0x30), 1, bytes(12))
    assert dedicated.is_dedicated
    assert not dedicated.is_general
    assert CipheredApdu(220, GB_TITLE, SecurityControl.from_byte(0x30), 1, bytes(12)).is_dedicated


# --- Green Book examples ----------------------------------------------------------------------------


def test_glo_get_request_decodes() -> None:
    apdu = decode_ciphered_apdu(GLO_GET_REQUEST)
    assert apdu == CipheredApdu(
        tag=ApduTag.GLO_GET_REQUEST,
        system_title=None,
        control=SecurityControl(security_suite=0, authenticated=True, encrypted=True),
        invocation_counter=GB_IC,
        protected=GLO_GET_REQUEST[7:],
    )
    assert apdu.encode() == GLO_GET_REQUEST
    result = unprotect(apdu, GB_KEYS, GB_TITLE)
    assert result == UnprotectedApdu(
        plaintext=GET_REQUEST_PLAINTEXT,
        control=apdu.control,
        invocation_counter=GB_IC,
        system_title=GB_TITLE,
        authenticated=True,
        verified=True,
    )


def test_glo_get_request_protect() -> None:
    apdu = protect(
        ApduTag.GLO_GET_REQUEST,
        GET_REQUEST_PLAINTEXT,
        GB_KEYS,
        system_title=GB_TITLE,
        invocation_counter=GB_IC,
    )
    assert apdu.encode() == GLO_GET_REQUEST


def test_glo_initiate_request() -> None:
    apdu = protect(
        0x21, INITIATE_PLAINTEXT, GB_KEYS, system_title=GB_TITLE, invocation_counter=GB_IC, control=0x30
    )
    assert apdu.encode() == GLO_INITIATE_REQUEST
    decoded = decode_ciphered_apdu(GLO_INITIATE_REQUEST)
    assert decoded == apdu
    assert decoded.tag == ApduTag.GLO_INITIATE_REQUEST
    assert unprotect(GLO_INITIATE_REQUEST, GB_KEYS, GB_TITLE).plaintext == INITIATE_PLAINTEXT


def test_service_specific_needs_a_system_title() -> None:
    with pytest.raises(DecodeError, match="system title"):
        unprotect(GLO_GET_REQUEST, GB_KEYS)


def test_service_specific_with_wrong_title_is_a_mismatch() -> None:
    with pytest.raises(AuthenticationTagMismatchError):
        unprotect(GLO_GET_REQUEST, GB_KEYS, bytes(8))


# --- general-glo-ciphering push ---------------------------------------------------------------------


def test_general_glo_ciphering_decodes() -> None:
    apdu = decode_ciphered_apdu(GGC_APDU)
    assert apdu.tag == ApduTag.GENERAL_GLO_CIPHERING
    assert apdu.system_title == bytes.fromhex("2f19229199164103")
    assert apdu.control.to_byte() == 0x30
    assert apdu.invocation_counter == 0x1E5
    assert len(apdu.protected) == 0x3B - 5
    assert apdu.encode() == GGC_APDU


def test_general_glo_ciphering_unprotect() -> None:
    result = unprotect(GGC_APDU, SecurityKeys(GGC_KEY, GGC_KEY))
    assert result.plaintext == GGC_PLAINTEXT
    assert result.plaintext[0] == 0x0F  # data-notification
    assert result.system_title == bytes.fromhex("2f19229199164103")
    assert result.invocation_counter == 0x1E5
    assert result.authenticated
    assert result.verified
    # The title in a general APDU wins over the argument.
    assert unprotect(GGC_APDU, SecurityKeys(GGC_KEY, GGC_KEY), bytes(8)).verified


def test_general_glo_ciphering_without_authentication_key_is_unverified() -> None:
    result = unprotect(GGC_APDU, SecurityKeys(GGC_KEY, None))
    assert result.plaintext == GGC_PLAINTEXT
    assert result.authenticated
    assert not result.verified


def test_general_glo_ciphering_wrong_keys() -> None:
    attempts: tuple[Callable[[], object], ...] = (
        lambda: unprotect(GGC_APDU, SecurityKeys(GGC_KEY, GB_AK)),
        lambda: unprotect(GGC_APDU, SecurityKeys(GB_EK, GGC_KEY)),
        lambda: unprotect(GGC_APDU[:-1] + bytes([GGC_APDU[-1] ^ 1]), SecurityKeys(GGC_KEY, GGC_KEY)),
        lambda: unprotect(
            GGC_APDU[:20] + bytes([GGC_APDU[20] ^ 1]) + GGC_APDU[21:], SecurityKeys(GGC_KEY, GGC_KEY)
        ),
    )
    for attempt in attempts:
        with pytest.raises(AuthenticationTagMismatchError, match="wrong key or tampered data") as info:
            attempt()
        assert_no_key_material(info.value)


def test_missing_encryption_key() -> None:
    with pytest.raises(MissingKeyError) as info:
        unprotect(GGC_APDU, SecurityKeys(None, GGC_KEY))
    assert_no_key_material(info.value)
    with pytest.raises(MissingKeyError):
        unprotect(NOE_APDU, SecurityKeys())


# --- Netz NOE: encryption only ----------------------------------------------------------------------


def test_netz_noe_apdu_spans_two_frames() -> None:
    assert len(NOE_APDU) == 260
    apdu = decode_ciphered_apdu(NOE_APDU)
    assert apdu.tag == ApduTag.GENERAL_GLO_CIPHERING
    assert apdu.system_title == b"KFMgP\x00\x00\x09"  # Kaifa's FLAG id "KFM"
    assert apdu.control == SecurityControl(encrypted=True)
    assert apdu.invocation_counter == 0x23
    assert len(apdu.protected) == 0xF8 - 5
    assert apdu.encode() == NOE_APDU


def test_netz_noe_decrypts() -> None:
    result = unprotect(NOE_APDU, SecurityKeys(encryption_key=NOE_EK))
    assert result.plaintext == NOE_PLAINTEXT
    assert result.plaintext[0] == 0x0F  # data-notification
    # date-time 2021-09-27 (Monday) 09:47:15, hundredths 0x00, deviation 0xFF88, clock status 0x80.
    assert result.plaintext[5:18] == bytes.fromhex("0C07E5091B01092F0F00FF8880")
    # 1.0.1.8.0.255 double-long-unsigned 12937 (Wh), the meter number as visible-string.
    assert bytes.fromhex("0906010001 0800FF 0600003289".replace(" ", "")) in result.plaintext
    assert result.plaintext.endswith(b"\x09\x0c181220000009")
    assert not result.authenticated
    assert not result.verified


def test_netz_noe_authentication_key_is_irrelevant() -> None:
    result = unprotect(NOE_APDU, SecurityKeys(NOE_EK, GB_AK))
    assert result.plaintext == NOE_PLAINTEXT
    assert not result.verified


def test_netz_noe_wrong_key_gives_garbage_unverified() -> None:
    result = unprotect(NOE_APDU, SecurityKeys(encryption_key=GB_EK))
    assert not result.verified
    assert result.plaintext != NOE_PLAINTEXT
    assert len(result.plaintext) == len(NOE_PLAINTEXT)
    assert result.plaintext[0] != 0x0F  # the telegram layer's structure check turns this into an error


# --- encoding details and errors --------------------------------------------------------------------


@pytest.mark.parametrize(("size", "length_hex"), [(0, "05"), (122, "7f"), (123, "8180"), (300, "820131")])
def test_content_length_forms(size: int, length_hex: str) -> None:
    apdu = CipheredApdu(0xDB, GB_TITLE, SecurityControl.from_byte(0x20), 7, bytes(size))
    raw = apdu.encode()
    assert raw.hex().startswith("db08" + GB_TITLE.hex() + length_hex + "2000000007")
    assert decode_ciphered_apdu(raw) == apdu


def test_read_ciphered_apdu_leaves_the_rest() -> None:
    reader = ByteReader(GLO_GET_REQUEST + b"\x7e")
    assert read_ciphered_apdu(reader) == decode_ciphered_apdu(GLO_GET_REQUEST)
    assert reader.remaining == 1


@pytest.mark.parametrize(
    ("raw", "match"),
    [
        ("", "truncated"),
        ("C0010000080000010000FF0200", "not a ciphered"),
        ("DD0100", "not a ciphered"),  # general-ciphering is not handled here
        ("C8", "truncated"),
        ("C80430012345", "no room"),
        ("C8063001234567", "truncated"),
        ("C80530012345", "truncated"),
        ("C8053001234567FF", "unexpected"),
        ("DB074D4D4D0000BC610530000000FF", "system title"),
        ("DB084D4D4D0000BC61", "truncated"),
        ("DB84FFFFFFFF", "truncated"),
        ("DB80", "unsupported"),
    ],
)
def test_malformed_apdus(raw: str, match: str) -> None:
    with pytest.raises(DecodeError, match=match):
        decode_ciphered_apdu(bytes.fromhex(raw))


def test_invalid_construction() -> None:
    sc = SecurityControl.from_byte(0x30)
    with pytest.raises(EncodeError):
        CipheredApdu(0xC0, None, sc, 1, b"")
    with pytest.raises(EncodeError):
        CipheredApdu(0xDB, None, sc, 1, b"")
    with pytest.raises(EncodeError):
        CipheredApdu(0xDB, GB_TITLE[:4], sc, 1, b"")
    with pytest.raises(EncodeError):
        CipheredApdu(0xC8, GB_TITLE, sc, 1, b"")
    with pytest.raises(EncodeError):
        CipheredApdu(0xC8, None, sc, 1 << 32, b"")
    with pytest.raises(EncodeError):
        protect(0xC0, b"", GB_KEYS, system_title=GB_TITLE, invocation_counter=1)
    with pytest.raises(EncodeError):
        protect(0xC8, b"", GB_KEYS, system_title=GB_TITLE, invocation_counter=1, control=0xB0)


def test_compressed_is_refused() -> None:
    apdu = CipheredApdu(0xDB, GB_TITLE, SecurityControl.from_byte(0xA0), 1, bytes(20))
    with pytest.raises(SecurityError, match="compress"):
        unprotect(apdu, GB_KEYS)


def test_unsupported_suite() -> None:
    apdu = CipheredApdu(0xDB, GB_TITLE, SecurityControl.from_byte(0x22), 1, bytes(20))
    with pytest.raises(SecurityError, match="suite 2"):
        unprotect(apdu, GB_KEYS)


# --- property tests ---------------------------------------------------------------------------------

tags = st.sampled_from(sorted(int(tag) for tag in CIPHERED_APDU_TAGS))
controls = st.sampled_from([0x10, 0x20, 0x30, 0x11, 0x21, 0x31, 0x70])
keys_strategy = st.binary(min_size=16, max_size=16)


@given(
    tag=tags,
    control=st.integers(0, 255),
    ic=st.integers(0, 0xFFFFFFFF),
    protected=st.binary(max_size=400),
    title=st.binary(min_size=8, max_size=8),
)
@settings(max_examples=150)
def test_encode_decode_round_trip(*, tag: int, control: int, ic: int, protected: bytes, title: bytes) -> None:
    apdu = CipheredApdu(
        tag, title if is_general_tag(tag) else None, SecurityControl.from_byte(control), ic, protected
    )
    assert decode_ciphered_apdu(apdu.encode()) == apdu


@given(
    tag=tags,
    control=controls,
    ek=keys_strategy,
    ak=keys_strategy,
    title=st.binary(min_size=8, max_size=8),
    ic=st.integers(0, 0xFFFFFFFF),
    plaintext=st.binary(max_size=300),
)
@settings(max_examples=150)
def test_protect_unprotect_round_trip(
    *, tag: int, control: int, ek: bytes, ak: bytes, title: bytes, ic: int, plaintext: bytes
) -> None:
    keys = SecurityKeys(ek, ak)
    raw = protect(tag, plaintext, keys, system_title=title, invocation_counter=ic, control=control).encode()
    result = unprotect(raw, keys, None if is_general_tag(tag) else title)
    sc = SecurityControl.from_byte(control)
    assert result == UnprotectedApdu(
        plaintext=plaintext,
        control=sc,
        invocation_counter=ic,
        system_title=title,
        authenticated=sc.authenticated,
        verified=sc.authenticated,
    )


@given(st.binary(max_size=300))
@settings(max_examples=300)
def test_random_bytes_raise_only_dlms_errors(raw: bytes) -> None:
    try:
        apdu = decode_ciphered_apdu(raw)
    except DlmsError:
        return
    assert apdu.encode() == raw


def _mutations() -> st.SearchStrategy[bytes]:
    base = st.sampled_from([GGC_APDU, NOE_APDU, GLO_GET_REQUEST, GLO_INITIATE_REQUEST])

    @st.composite
    def mutate(draw: st.DrawFn) -> bytes:
        data = bytearray(draw(base))
        for _ in range(draw(st.integers(1, 4))):
            kind = draw(st.sampled_from(["flip", "cut", "insert", "delete"]))
            index = draw(st.integers(0, max(len(data) - 1, 0)))
            if kind == "flip" and data:
                data[index] ^= draw(st.integers(1, 255))
            elif kind == "cut":
                del data[index:]
            elif kind == "insert":
                data[index:index] = draw(st.binary(min_size=1, max_size=4))
            elif data:
                del data[index]
        return bytes(data)

    return mutate()


@given(_mutations())
@settings(max_examples=300)
def test_mutated_apdus_raise_only_dlms_errors(raw: bytes) -> None:
    for keys in (SecurityKeys(GGC_KEY, GGC_KEY), SecurityKeys(NOE_EK), SecurityKeys(GB_EK, GB_AK)):
        try:
            result = unprotect(raw, keys, GB_TITLE)
        except DlmsError as exc:
            assert_no_key_material(exc)
        else:
            assert_no_key_material(result)
