"""Push mode: Data-Notifications with the push object list's values, framed as real meters send them.

A :class:`PushBuilder` reads the meter's objects for the current instant and builds one telegram per
call: the notification body is an array of structures (logical name, value[, scaler_unit]) — the
layout Aidon and many Landis+Gyr meters push — and the long invoke id counts up. Optional security
wraps it in general-glo-ciphering (security control 0x20: encrypted, or 0x30: authenticated and
encrypted) with the meter's system title and its next invocation counter. The APDU then goes out as
HDLC UI frames with the LLC header (segmented when long), M-Bus long frames, a TCP wrapper PDU or bare.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field
from enum import StrEnum

from ..apdu import ApduTag, DataNotification, LongInvokeIdAndPriority
from ..axdr import Data
from ..errors import EncodeError
from ..hdlc import LLC_RESPONSE, Control, HdlcFrame, client_address, server_address
from ..hdlc.address import HdlcAddress
from ..hdlc.link import max_information_length
from ..mbus import segment_apdu
from ..obis import ObisCode
from ..security import SecurityControl, protect
from ..wrapper import WrapperPdu
from .interface_classes import EXTENDED_REGISTER_CAPTURE_TIME, ExtendedRegister
from .model import (
    ACTIVE_ENERGY_EXPORT,
    ACTIVE_ENERGY_IMPORT,
    ACTIVE_POWER_EXPORT,
    ACTIVE_POWER_IMPORT,
    CLOCK,
    CURRENTS,
    FREQUENCY,
    LOGICAL_DEVICE_NAME,
    VOLTAGES,
    Register,
    SimulatedMeter,
)
from .p1 import p1_telegram


class PushFraming(StrEnum):
    """How pushed telegrams are framed on the line."""

    HDLC = "hdlc"
    MBUS = "mbus"
    WRAPPER = "wrapper"
    RAW = "raw"
    P1 = "p1"
    """A DSMR 5 P1 text telegram (see :mod:`.p1`); with security, the Luxembourg Smarty's: the text
    inside a general-glo-ciphering APDU, bare."""


#: The push object list of the default meter (what a P1/HAN port typically sends).
DEFAULT_PUSH_OBJECTS: tuple[ObisCode, ...] = (
    CLOCK,
    LOGICAL_DEVICE_NAME,
    ACTIVE_ENERGY_IMPORT,
    ACTIVE_ENERGY_EXPORT,
    ACTIVE_POWER_IMPORT,
    ACTIVE_POWER_EXPORT,
    *VOLTAGES,
    *CURRENTS,
    FREQUENCY,
)


@dataclass(frozen=True, slots=True)
class PushSettings:
    """What is pushed and how.

    ``security`` is None (plain Data-Notification) or a security control (0x20 or 0x30) for
    general-glo-ciphering with the meter's keys. ``max_information_length`` bounds each HDLC UI
    frame's information field (longer APDUs are segmented). The addresses are the HDLC destination
    (client) and source (server) of UI frames, and the wPorts of wrapper PDUs.
    """

    framing: PushFraming = PushFraming.HDLC
    objects: tuple[ObisCode, ...] = DEFAULT_PUSH_OBJECTS
    security: int | None = None
    max_information_length: int = 1024
    client_address: HdlcAddress = field(default_factory=lambda: client_address(0x10))
    server_address: HdlcAddress = field(default_factory=lambda: server_address(1, 17))
    source_wport: int = 1
    destination_wport: int = 0x10

    def __post_init__(self) -> None:
        if self.security is not None:
            control = SecurityControl.from_byte(self.security)
            if not control.encrypted or control.security_suite != 0 or control.compressed:
                raise EncodeError(
                    "push security must be 0x20 (encrypted) or 0x30 (authenticated and encrypted)"
                )
        if self.max_information_length < 1:
            raise EncodeError("the HDLC information field length must be positive")


class PushBuilder:
    """Builds the meter's push telegrams; each call to :meth:`telegram` is the next one."""

    def __init__(self, meter: SimulatedMeter, settings: PushSettings | None = None) -> None:
        self.meter = meter
        self.settings = settings or PushSettings()
        self.long_invoke_id = 0
        """The long invoke id of the last notification (counts up from 1, 24 bits)."""
        if self.settings.security is not None:
            keys = meter.security.keys
            control = SecurityControl.from_byte(self.settings.security)
            if keys.encryption_key is None or (control.authenticated and keys.authentication_key is None):
                raise EncodeError("ciphered pushes need the meter's encryption (and authentication) key")

    def body(self) -> Data:
        """The notification body: an array of (logical name, value[, scaler_unit[, capture_time]]) structures.

        Extended registers (the M-Bus channels' readings) go with their capture time.
        """
        context = self.meter.context()
        elements = []
        for logical_name in self.settings.objects:
            obj = self.meter.find(logical_name)
            if obj is None:
                raise EncodeError(f"the meter has no object {logical_name} to push")
            items = [Data.octet_string(logical_name.to_bytes()), obj.get(2, context)]
            if isinstance(obj, Register):
                items.append(obj.scaler_unit.to_data())
            if isinstance(obj, ExtendedRegister):
                items.append(obj.get(EXTENDED_REGISTER_CAPTURE_TIME, context))
            elements.append(Data.structure(*items))
        return Data.array(*elements)

    def notification(self) -> DataNotification:
        """The next Data-Notification, stamped with the meter's time."""
        self.long_invoke_id = self.long_invoke_id % 0xFF_FFFF + 1
        return DataNotification(
            body=self.body(),
            date_time=self.meter.clock.date_time(self.meter.now()),
            long_invoke_id_and_priority=LongInvokeIdAndPriority(self.long_invoke_id),
        )

    def apdu(self) -> bytes:
        """The next push APDU (or P1 telegram), ciphered when the settings ask for it."""
        if self.settings.framing is PushFraming.P1:
            plain = p1_telegram(self.meter, self.settings.objects)
        else:
            plain = self.notification().encode()
        if self.settings.security is None:
            return plain
        security = self.meter.security
        return protect(
            ApduTag.GENERAL_GLO_CIPHERING,
            plain,
            security.keys,
            system_title=security.system_title,
            invocation_counter=security.next_server_invocation_counter(),
            control=self.settings.security,
        ).encode()

    def telegram(self) -> bytes:
        """The next telegram as it goes on the line."""
        return b"".join(self.frames())

    def frames(self) -> list[bytes]:
        """The next telegram, frame by frame."""
        return frame_push(self.apdu(), self.settings)


def frame_push(apdu: bytes, settings: PushSettings) -> list[bytes]:
    """Frame one push APDU as ``settings.framing`` says."""
    match settings.framing:
        case PushFraming.HDLC:
            return list(_hdlc_ui_frames(apdu, settings))
        case PushFraming.MBUS:
            return [frame.encode() for frame in segment_apdu(apdu)]
        case PushFraming.WRAPPER:
            return [WrapperPdu(settings.source_wport, settings.destination_wport, apdu).encode()]
        case _:
            return [apdu]


def _hdlc_ui_frames(apdu: bytes, settings: PushSettings) -> Iterable[bytes]:
    information = LLC_RESPONSE + apdu
    limit = min(
        settings.max_information_length,
        max_information_length(settings.client_address, settings.server_address),
    )
    chunks = [information[start : start + limit] for start in range(0, len(information), limit)]
    for index, chunk in enumerate(chunks):
        yield HdlcFrame(
            destination=settings.client_address,
            source=settings.server_address,
            control=Control.ui(poll_final=True),
            information=chunk,
            segmented=index < len(chunks) - 1,
        ).encode()
