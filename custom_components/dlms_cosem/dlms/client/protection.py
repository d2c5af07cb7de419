"""The client's side of DLMS security in an association: invocation counters, ciphering and its checks.

When the association is ciphered every request is wrapped into its glo-ciphered counterpart with the
next invocation counter, and every answer must come back protected at least as strongly, from the
meter's system title, with an invocation counter above the last one seen (across associations too,
except after HLS-GMAC has proved the meter fresh: a rebooted meter may count from zero again); only
exception-responses and confirmed-service-errors may come unprotected (they carry no data to trust).
"""

from __future__ import annotations

from ..apdu import ApduTag, is_ciphered
from ..errors import (
    DecodeError,
    DecryptionError,
    EncodeError,
    InvalidSettingsError,
    ProtocolError,
    SecurityError,
)
from ..reader import encode_length
from ..security import TAG_LENGTH, SecurityKeys, decode_ciphered_apdu, protect, unprotect
from .settings import INVOCATION_COUNTER_MAX, ClientSettings

_SECURITY_HEADER = 5  # security control and invocation counter


_GLO_REQUEST_TAGS: dict[int, ApduTag] = {
    ApduTag.INITIATE_REQUEST: ApduTag.GLO_INITIATE_REQUEST,
    ApduTag.GET_REQUEST: ApduTag.GLO_GET_REQUEST,
    ApduTag.SET_REQUEST: ApduTag.GLO_SET_REQUEST,
    ApduTag.ACTION_REQUEST: ApduTag.GLO_ACTION_REQUEST,
    ApduTag.READ_REQUEST: ApduTag.GLO_READ_REQUEST,
    ApduTag.WRITE_REQUEST: ApduTag.GLO_WRITE_REQUEST,
}
_GLO_RESPONSE_TAGS = frozenset(
    {
        ApduTag.GLO_INITIATE_RESPONSE,
        ApduTag.GLO_CONFIRMED_SERVICE_ERROR,
        ApduTag.GLO_GET_RESPONSE,
        ApduTag.GLO_SET_RESPONSE,
        ApduTag.GLO_ACTION_RESPONSE,
        ApduTag.GLO_READ_RESPONSE,
        ApduTag.GLO_WRITE_RESPONSE,
        ApduTag.GENERAL_GLO_CIPHERING,
    }
)
_DED_RESPONSE_TAGS = frozenset(
    {
        ApduTag.DED_INITIATE_RESPONSE,
        ApduTag.DED_CONFIRMED_SERVICE_ERROR,
        ApduTag.DED_GET_RESPONSE,
        ApduTag.DED_SET_RESPONSE,
        ApduTag.DED_ACTION_RESPONSE,
        ApduTag.DED_READ_RESPONSE,
        ApduTag.DED_WRITE_RESPONSE,
        ApduTag.GENERAL_DED_CIPHERING,
    }
)
_UNPROTECTED_NEGATIVE_TAGS = frozenset({ApduTag.EXCEPTION_RESPONSE, ApduTag.CONFIRMED_SERVICE_ERROR})


def wire_size(plain_size: int, control_authenticated: bool) -> int:
    """Size of a glo-ciphered APDU carrying ``plain_size`` bytes."""
    content = _SECURITY_HEADER + plain_size + (TAG_LENGTH if control_authenticated else 0)
    return 1 + len(encode_length(content)) + content


class Protection:
    """The security state one client keeps with one meter; it outlives associations.

    The invocation counter goes up by one for every APDU the client protects (and for its HLS-GMAC
    answer) and is reported to ``settings.on_invocation_counter`` as the next value to use.
    """

    def __init__(self, settings: ClientSettings) -> None:
        self._settings = settings
        self.server_system_title: bytes | None = settings.server_system_title
        """The meter's system title: from the AARE, else the settings' fallback."""
        self._invocation_counter = settings.invocation_counter
        self._last_server_invocation_counter: int | None = None
        self._floor_before_association: int | None = None

    @property
    def invocation_counter(self) -> int:
        """The invocation counter the next protected APDU will carry."""
        return self._invocation_counter

    def advance_invocation_counter(self, at_least: int) -> None:
        """Move the counter forward (never back), e.g. past the meter's frame counter."""
        if not 0 <= at_least <= INVOCATION_COUNTER_MAX + 1:
            raise EncodeError(f"invocation counter {at_least} outside 0..0xFFFFFFFF")
        if at_least > self._invocation_counter:
            self._invocation_counter = at_least
            self._report_invocation_counter()

    def _report_invocation_counter(self) -> None:
        callback = self._settings.on_invocation_counter
        if callback is not None:
            callback(self._invocation_counter)

    def take_invocation_counter(self) -> int:
        """The counter for the APDU being protected; the next one is reported."""
        counter = self._invocation_counter
        if counter > INVOCATION_COUNTER_MAX:
            raise SecurityError("the invocation counter is exhausted: the meter needs new keys")
        self._invocation_counter = counter + 1
        self._report_invocation_counter()
        return counter

    # --- the meter's counter across associations ----------------------------------------------------

    def begin_association(self) -> None:
        """A new association starts: its answers are first checked against each other only.

        A meter that rebooted may count from zero again; whether that is accepted is decided when the
        association ends (:meth:`end_association`).
        """
        last = self._last_server_invocation_counter
        if self._floor_before_association is None or (
            last is not None and last > self._floor_before_association
        ):
            self._floor_before_association = last
        self._last_server_invocation_counter = None

    def end_association(self, *, fresh: bool) -> None:
        """The association is open: settle the meter's counter against the ones seen before it.

        ``fresh``: the meter proved it answers now (HLS-GMAC pass 4 verified against our own challenge),
        so its counter is taken as it is, even below earlier ones (a reboot may reset it). Otherwise
        nothing proves the answers are not recorded ones: the counter must still be above every
        counter seen before (DecryptionError when it went back).
        """
        floor, self._floor_before_association = self._floor_before_association, None
        last = self._last_server_invocation_counter
        if fresh or floor is None:
            return
        if last is None:
            self._last_server_invocation_counter = floor
        elif last <= floor:
            self._last_server_invocation_counter = floor
            raise DecryptionError(
                "the meter's invocation counter went back since the last association (replayed answers?)"
            )

    def abort_association(self) -> None:
        """The association failed: the floor is the highest counter seen, before it or in it."""
        floor, self._floor_before_association = self._floor_before_association, None
        last = self._last_server_invocation_counter
        if floor is not None and (last is None or last < floor):
            self._last_server_invocation_counter = floor

    def keys(self) -> SecurityKeys:
        """The configured keys (present whenever ciphering or HLS-GMAC is configured)."""
        keys = self._settings.keys
        if keys is None:  # pragma: no cover - ClientSettings insists on keys where they are used
            raise InvalidSettingsError("no keys configured")
        return keys

    def cipher(self, tag: int, plaintext: bytes) -> bytes:
        """``plaintext`` glo-ciphered under ``tag`` with the next invocation counter."""
        return protect(
            tag,
            plaintext,
            self.keys(),
            system_title=self._settings.client_system_title,
            invocation_counter=self.take_invocation_counter(),
            control=self._settings.security_control,
        ).encode()

    def protect(self, plaintext: bytes) -> bytes:
        """A request as it goes on the wire: glo-ciphered when the association is."""
        if not self._settings.ciphered:
            return plaintext
        return self.cipher(_GLO_REQUEST_TAGS[plaintext[0]], plaintext)

    def unprotect(self, raw: bytes) -> bytes:
        """The plaintext of an answer, after every check a ciphered association demands."""
        if not raw:
            raise DecodeError("empty APDU")
        tag = raw[0]
        if not self._settings.ciphered:
            if is_ciphered(raw):
                raise ProtocolError(f"ciphered answer (tag 0x{tag:02X}) in an association without ciphering")
            return raw
        if tag in _UNPROTECTED_NEGATIVE_TAGS:
            return raw
        keys = self.keys()
        if tag in _DED_RESPONSE_TAGS:
            if self._settings.dedicated_key is None:
                raise DecryptionError("answer ciphered with a dedicated key, but none was proposed")
            keys = SecurityKeys(self._settings.dedicated_key, keys.authentication_key)
        elif tag not in _GLO_RESPONSE_TAGS:
            raise DecryptionError(f"unprotected answer (tag 0x{tag:02X}) in a ciphered association")
        apdu = decode_ciphered_apdu(raw)
        title = self.server_system_title
        if apdu.system_title is not None:
            if title is not None and apdu.system_title != title:
                raise DecryptionError("the answer carries another system title than the meter's")
            title = apdu.system_title
        if title is None:
            raise DecryptionError("the meter's system title is unknown (no responding-AP-title in the AARE)")
        required = self._settings.control
        if (required.authenticated and not apdu.control.authenticated) or (
            required.encrypted and not apdu.control.encrypted
        ):
            raise DecryptionError(
                f"the answer (security control 0x{apdu.control.to_byte():02X}) is less protected than the "
                f"association (0x{required.to_byte():02X})"
            )
        last = self._last_server_invocation_counter
        if last is not None and apdu.invocation_counter <= last:
            raise DecryptionError("the answer's invocation counter did not increase (replayed answer?)")
        plaintext = unprotect(apdu, keys, title).plaintext
        self._last_server_invocation_counter = apdu.invocation_counter
        if not plaintext or is_ciphered(plaintext):
            raise DecodeError("the deciphered answer is empty or ciphered again")
        return plaintext
