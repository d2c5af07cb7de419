"""xDLMS and ACSE APDU tags (IEC 62056-5-3, Green Book "xDLMS APDUs").

The first byte of every APDU says what it is; :func:`decode.decode_apdu` dispatches on these values, so
they are kept in one place and named as in the standard's ASN.1 (``get-request`` -> ``GET_REQUEST``).
"""

from __future__ import annotations

from enum import IntEnum


class ApduTag(IntEnum):
    """The tag byte that opens an xDLMS or ACSE APDU."""

    # Plain xDLMS, short name referencing and initiate.
    INITIATE_REQUEST = 1
    READ_REQUEST = 5
    WRITE_REQUEST = 6
    INITIATE_RESPONSE = 8
    READ_RESPONSE = 12
    WRITE_RESPONSE = 13
    CONFIRMED_SERVICE_ERROR = 14
    DATA_NOTIFICATION = 15
    UNCONFIRMED_WRITE_REQUEST = 22
    INFORMATION_REPORT_REQUEST = 24

    # Global ciphering of the services above.
    GLO_INITIATE_REQUEST = 33
    GLO_READ_REQUEST = 37
    GLO_WRITE_REQUEST = 38
    GLO_INITIATE_RESPONSE = 40
    GLO_READ_RESPONSE = 44
    GLO_WRITE_RESPONSE = 45
    GLO_CONFIRMED_SERVICE_ERROR = 46
    GLO_UNCONFIRMED_WRITE_REQUEST = 54
    GLO_INFORMATION_REPORT_REQUEST = 56

    # Dedicated ciphering of the services above.
    DED_INITIATE_REQUEST = 65
    DED_READ_REQUEST = 69
    DED_WRITE_REQUEST = 70
    DED_INITIATE_RESPONSE = 72
    DED_READ_RESPONSE = 76
    DED_WRITE_RESPONSE = 77
    DED_CONFIRMED_SERVICE_ERROR = 78
    DED_UNCONFIRMED_WRITE_REQUEST = 86
    DED_INFORMATION_REPORT_REQUEST = 88

    # ACSE (BER encoded).
    AARQ = 0x60
    AARE = 0x61
    RLRQ = 0x62
    RLRE = 0x63

    # Logical name referencing services.
    GET_REQUEST = 192
    SET_REQUEST = 193
    EVENT_NOTIFICATION_REQUEST = 194
    ACTION_REQUEST = 195
    GET_RESPONSE = 196
    SET_RESPONSE = 197
    ACTION_RESPONSE = 199

    GLO_GET_REQUEST = 200
    GLO_SET_REQUEST = 201
    GLO_EVENT_NOTIFICATION_REQUEST = 202
    GLO_ACTION_REQUEST = 203
    GLO_GET_RESPONSE = 204
    GLO_SET_RESPONSE = 205
    GLO_ACTION_RESPONSE = 207

    DED_GET_REQUEST = 208
    DED_SET_REQUEST = 209
    DED_EVENT_NOTIFICATION_REQUEST = 210
    DED_ACTION_REQUEST = 211
    DED_GET_RESPONSE = 212
    DED_SET_RESPONSE = 213
    DED_ACTION_RESPONSE = 215

    EXCEPTION_RESPONSE = 216
    ACCESS_REQUEST = 217
    ACCESS_RESPONSE = 218
    GENERAL_GLO_CIPHERING = 219
    GENERAL_DED_CIPHERING = 220
    GENERAL_CIPHERING = 221
    GENERAL_SIGNING = 223
    GENERAL_BLOCK_TRANSFER = 224


#: The same enumeration under the name other modules of the stack use for it.
XdlmsTag = ApduTag

#: Tags whose content is protected by DLMS security; ``dlms.security`` removes it, not this package.
CIPHERED_TAGS: frozenset[int] = frozenset(
    tag
    for tag in ApduTag
    if tag.name.startswith(("GLO_", "DED_"))
    or tag in {ApduTag.GENERAL_GLO_CIPHERING, ApduTag.GENERAL_DED_CIPHERING, ApduTag.GENERAL_CIPHERING}
)


class GetRequestType(IntEnum):
    """The CHOICE inside a ``Get-Request``."""

    NORMAL = 1
    NEXT = 2
    WITH_LIST = 3


class GetResponseType(IntEnum):
    """The CHOICE inside a ``Get-Response``."""

    NORMAL = 1
    WITH_DATABLOCK = 2
    WITH_LIST = 3


class SetRequestType(IntEnum):
    """The CHOICE inside a ``Set-Request``."""

    NORMAL = 1
    WITH_FIRST_DATABLOCK = 2
    WITH_DATABLOCK = 3
    WITH_LIST = 4
    WITH_LIST_AND_FIRST_DATABLOCK = 5


class SetResponseType(IntEnum):
    """The CHOICE inside a ``Set-Response``."""

    NORMAL = 1
    DATABLOCK = 2
    LAST_DATABLOCK = 3
    LAST_DATABLOCK_WITH_LIST = 4
    WITH_LIST = 5


class ActionRequestType(IntEnum):
    """The CHOICE inside an ``Action-Request``."""

    NORMAL = 1
    NEXT_PBLOCK = 2
    WITH_LIST = 3
    WITH_FIRST_PBLOCK = 4
    WITH_LIST_AND_FIRST_PBLOCK = 5
    WITH_PBLOCK = 6


class ActionResponseType(IntEnum):
    """The CHOICE inside an ``Action-Response``."""

    NORMAL = 1
    WITH_PBLOCK = 2
    WITH_LIST = 3
    NEXT_PBLOCK = 4


class VariableAccessSpecificationType(IntEnum):
    """The CHOICE of a ``Variable-Access-Specification`` (short name ReadRequest and WriteRequest)."""

    VARIABLE_NAME = 2
    DETAILED_ACCESS = 3
    PARAMETERIZED_ACCESS = 4
    BLOCK_NUMBER_ACCESS = 5
    READ_DATA_BLOCK_ACCESS = 6
    WRITE_DATA_BLOCK_ACCESS = 7


class ReadResponseType(IntEnum):
    """The CHOICE of one ``ReadResponse`` entry."""

    DATA = 0
    DATA_ACCESS_ERROR = 1
    DATA_BLOCK_RESULT = 2
    BLOCK_NUMBER = 3


class WriteResponseType(IntEnum):
    """The CHOICE of one ``WriteResponse`` entry."""

    SUCCESS = 0
    DATA_ACCESS_ERROR = 1
    BLOCK_NUMBER = 2
