"""asyncio DLMS client: a :class:`ClientConnection` driven over an :class:`ApduTransport`.

The association is opened on first use and kept between polls. When a request finds the link or the
association gone (``ConnectionLostError``, or the meter answering as if not associated), the client
reopens the transport, associates again and retries the request once. Any other failure (timeout,
garbage, a security problem, cancellation) leaves the link in an unknown state, so the next call
starts afresh. Requests are serialised: the transport carries one exchange at a time.

Several attributes are read with GET-with-list; when the meter refuses or garbles such an answer as a
whole, the attributes are read again one at a time, so each gets its own value or error.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable, Sequence
from datetime import datetime
from functools import partial
from types import TracebackType
from typing import Self

from ..apdu import (
    CaptureObjectDefinition,
    Conformance,
    CosemAttributeDescriptor,
    CosemAttributeDescriptorWithSelection,
    CosemMethodDescriptor,
    EntryDescriptor,
    RangeDescriptor,
    SelectiveAccessDescriptor,
)
from ..axdr import INTEGER_TAGS, Data
from ..cosem_datetime import CosemDateTime
from ..errors import (
    ConnectionLostError,
    DecodeError,
    DlmsError,
    EncodeError,
    FrameError,
    ProtocolError,
    ServiceError,
)
from ..obis import ObisCode
from ..transport.base import ApduTransport
from ..units import ScalerUnit
from .connection import DEFAULT_CHALLENGE_LENGTH, ClientConnection, NegotiatedContext, Operation
from .objects import (
    CLOCK,
    CLOCK_CLASS_ID,
    DATA_CLASS_ID,
    FRAME_COUNTER,
    PROFILE_GENERIC_CLASS_ID,
    AttributeReference,
    ObjectListEntry,
    ProfileBuffer,
    RegisterReference,
    RegisterValue,
    as_obis,
    as_selection,
    parse_capture_objects,
    parse_profile_rows,
    register_value,
)
from .settings import PUBLIC_CLIENT_ADDRESS, ClientSettings

_LOGGER = logging.getLogger(__name__)

_CLOCK_TIME_ATTRIBUTE = 2
_BUFFER_ATTRIBUTE = 2
_CAPTURE_OBJECTS_ATTRIBUTE = 3

type Selection = SelectiveAccessDescriptor | RangeDescriptor | EntryDescriptor
#: What one attribute of several can fail with, alone: the meter refused it or garbled its answer.
type ItemError = ServiceError | DecodeError
type AttributeRef = AttributeReference | tuple[ObisCode | str, int] | tuple[ObisCode | str, int, int]


def _reference(ref: AttributeRef) -> CosemAttributeDescriptorWithSelection:
    if isinstance(ref, AttributeReference):
        return ref.descriptor()
    obis, class_id, *rest = ref
    attribute = rest[0] if rest else 2
    return CosemAttributeDescriptorWithSelection(CosemAttributeDescriptor(class_id, as_obis(obis), attribute))


class DlmsClient:
    """Reads and writes one meter through an APDU transport (HDLC or TCP wrapper).

    ``random_bytes`` and ``challenge_length`` are passed to the :class:`ClientConnection` (tests
    inject a fixed HLS challenge).
    """

    def __init__(
        self,
        transport: ApduTransport,
        settings: ClientSettings,
        *,
        random_bytes: Callable[[int], bytes] | None = None,
        challenge_length: int = DEFAULT_CHALLENGE_LENGTH,
    ) -> None:
        self._transport = transport
        if random_bytes is None:
            self._connection = ClientConnection(settings, challenge_length=challenge_length)
        else:
            self._connection = ClientConnection(
                settings, random_bytes=random_bytes, challenge_length=challenge_length
            )
        self._lock = asyncio.Lock()
        self._needs_reset = False
        self._scaler_units: dict[tuple[int, ObisCode], ScalerUnit] = {}
        self._capture_objects: dict[ObisCode, tuple[CaptureObjectDefinition, ...]] = {}

    @property
    def transport(self) -> ApduTransport:
        """What carries the APDUs (its link counters and negotiated parameters, for diagnostics)."""
        return self._transport

    @property
    def connection(self) -> ClientConnection:
        """The sans-I/O association state (negotiated context, invocation counter)."""
        return self._connection

    @property
    def associated(self) -> bool:
        """Whether an association is believed open."""
        return self._connection.associated and self._transport.is_open and not self._needs_reset

    @property
    def context(self) -> NegotiatedContext | None:
        """What the meter accepted, while associated."""
        return self._connection.context

    async def __aenter__(self) -> Self:
        try:
            await self.connect()
        except BaseException:
            await self.close()  # __aexit__ does not run when __aenter__ fails: do not leak the port
            raise
        return self

    async def __aexit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        await self.close()

    # --- machinery ---------------------------------------------------------------------------------

    async def _run[T](self, operation: Operation[T]) -> T:
        while not operation.done:
            operation.receive(await self._transport.request(operation.request))
        return operation.result()

    async def _drop(self) -> None:
        self._needs_reset = False
        self._connection.reset()
        await self._transport.close()

    async def _ensure_associated(self) -> None:
        if self._needs_reset:
            await self._drop()
        if not self._transport.is_open:
            self._connection.reset()
            await self._transport.open()
        if not self._connection.associated:
            await self._run(self._connection.associate())

    async def _call[T](self, make: Callable[[], Operation[T]]) -> T:
        async with self._lock:
            retried = False
            while True:
                try:
                    await self._ensure_associated()
                    return await self._run(make())
                except (ServiceError, EncodeError):
                    raise  # the meter answered (or nothing was sent): the association is fine
                except ConnectionLostError as exc:
                    await self._drop()
                    if retried:
                        raise
                    retried = True
                    _LOGGER.debug("association lost (%s); associating again and retrying once", exc)
                except BaseException:
                    self._needs_reset = True
                    raise

    # --- association -------------------------------------------------------------------------------

    async def connect(self) -> NegotiatedContext:
        """Open the transport and associate (nothing to do when already associated)."""
        async with self._lock:
            try:
                await self._ensure_associated()
            except BaseException:
                self._needs_reset = True
                raise
            context = self._connection.context
            if context is None:  # pragma: no cover - associate() sets it
                raise ConnectionLostError("association not established")
            return context

    async def release(self) -> None:
        """Release the association (RLRQ) when one is open; best effort, never raises a DLMS error."""
        async with self._lock:
            if not self._connection.associated or not self._transport.is_open or self._needs_reset:
                self._connection.reset()
                return
            try:
                await self._run(self._connection.release())
            except DlmsError as exc:
                _LOGGER.debug("release not confirmed: %s", exc)
                self._needs_reset = True
            except BaseException:
                self._needs_reset = True
                raise
            finally:
                self._connection.reset()

    async def close(self) -> None:
        """Release the association and close the transport."""
        await self.release()
        async with self._lock:
            self._needs_reset = False
            self._connection.reset()
            await self._transport.close()

    # --- services ----------------------------------------------------------------------------------

    async def get(
        self,
        obis: ObisCode | str,
        class_id: int,
        attribute: int = 2,
        access_selection: Selection | None = None,
    ) -> Data:
        """GET one attribute; raises the :class:`ServiceError` the meter gives."""
        descriptor = CosemAttributeDescriptor(class_id, as_obis(obis), attribute)
        selection = as_selection(access_selection)
        return await self._call(lambda: self._connection.get(descriptor, selection))

    async def get_many(self, refs: Sequence[AttributeRef]) -> list[Data | ItemError]:
        """GET several attributes (GET-with-list when negotiated); per attribute a value or its error.

        A with-list answer that refuses or garbles the whole request, or refuses every attribute (a
        data-access-result for the whole list), is not the end: each attribute is then asked for
        alone (GET-normal), so one object the meter chokes on (some meters truncate the whole answer
        for one undefined item) does not hide the others. A garbled answer to one attribute alone is
        that attribute's error.
        """
        return await self._get_items([_reference(ref) for ref in refs])

    async def _get_items(
        self, items: Sequence[CosemAttributeDescriptorWithSelection]
    ) -> list[Data | ItemError]:
        try:
            results: list[Data | ItemError] = list(await self._call(lambda: self._connection.get_many(items)))
        except FrameError:
            raise  # the link itself is broken, not the answer to this request
        except (ServiceError, DecodeError, ProtocolError) as exc:
            if len(items) < 2:
                if isinstance(exc, ProtocolError):
                    raise
                return [exc]
            _LOGGER.debug("GET with-list failed as a whole (%s); reading each attribute alone", exc)
        else:
            every_one_refused = all(isinstance(result, ServiceError) for result in results)
            if len(items) < 2 or not every_one_refused or not self._lists_attributes():
                return results
            _LOGGER.debug("GET with-list refused for every attribute; reading each attribute alone")
        return [await self._get_alone(item) for item in items]

    def _lists_attributes(self) -> bool:
        """Whether several attributes go in one GET-with-list (else they were read alone already)."""
        context = self._connection.context
        return context is not None and context.allows(Conformance.MULTIPLE_REFERENCES)

    async def _get_alone(self, item: CosemAttributeDescriptorWithSelection) -> Data | ItemError:
        try:
            return await self._call(partial(self._connection.get, item.attribute, item.access_selection))
        except FrameError:
            raise
        except (ServiceError, DecodeError) as exc:
            return exc

    async def set(
        self,
        obis: ObisCode | str,
        class_id: int,
        attribute: int,
        value: Data,
        access_selection: Selection | None = None,
    ) -> None:
        """SET one attribute."""
        descriptor = CosemAttributeDescriptor(class_id, as_obis(obis), attribute)
        selection = as_selection(access_selection)
        await self._call(lambda: self._connection.set(descriptor, value, selection))

    async def action(
        self, obis: ObisCode | str, class_id: int, method: int, parameters: Data | None = None
    ) -> Data | None:
        """Invoke a method; its return value, if any."""
        descriptor = CosemMethodDescriptor(class_id, as_obis(obis), method)
        return await self._call(lambda: self._connection.action(descriptor, parameters))

    # --- objects -----------------------------------------------------------------------------------

    async def read_object_list(self) -> list[ObjectListEntry]:
        """The objects this association may access (Association LN or SN ``object_list``)."""
        return await self._call(self._connection.object_list)

    def clear_caches(self) -> None:
        """Forget cached scaler_units, profile columns and short names (after a meter reconfiguration)."""
        self._scaler_units.clear()
        self._capture_objects.clear()
        self._connection.forget_short_names()

    async def read_registers(
        self, registers: Sequence[ObisCode | str | RegisterReference]
    ) -> list[RegisterValue | DlmsError]:
        """Read values and apply scalers; one GET-with-list when the meter allows it.

        scaler_unit is read once per register (in the same request as the first value) and cached,
        so later polls of N registers are one request. Each register gets its value or its error.
        """
        values, _ = await self.read_registers_and(registers, ())
        return values

    async def read_registers_and(
        self, registers: Sequence[ObisCode | str | RegisterReference], attributes: Sequence[AttributeRef]
    ) -> tuple[list[RegisterValue | DlmsError], list[Data | ItemError]]:
        """:meth:`read_registers` plus other attributes in the same request (a poll's clock, states).

        The attributes come back as :meth:`get_many` gives them: per attribute a value or its error.
        """
        refs = [
            ref if isinstance(ref, RegisterReference) else RegisterReference(as_obis(ref))
            for ref in registers
        ]
        plan: list[CosemAttributeDescriptorWithSelection] = []
        wants_scaler: list[bool] = []
        for ref in refs:
            plan.append(AttributeReference(ref.obis, ref.class_id, ref.value_attribute).descriptor())
            scaler_attribute = ref.scaler_unit_attribute
            wanted = scaler_attribute is not None and (ref.class_id, ref.obis) not in self._scaler_units
            if wanted and scaler_attribute is not None:
                plan.append(AttributeReference(ref.obis, ref.class_id, scaler_attribute).descriptor())
            wants_scaler.append(wanted)
        plan.extend(_reference(ref) for ref in attributes)
        answers = await self._get_items(plan)
        results = iter(answers[: len(answers) - len(attributes)])
        values: list[RegisterValue | DlmsError] = []
        for ref, wanted in zip(refs, wants_scaler, strict=True):
            value = next(results)
            scaler = next(results) if wanted else None
            key = (ref.class_id, ref.obis)
            if isinstance(value, DlmsError):
                self._scaler_units.pop(key, None)
                values.append(value)
                continue
            if isinstance(scaler, DlmsError):
                values.append(scaler)
                continue
            if scaler is not None:
                try:
                    self._scaler_units[key] = ScalerUnit.from_data(scaler)
                except DecodeError as exc:
                    values.append(DecodeError(f"{ref.obis} scaler_unit: {exc}"))
                    continue
            values.append(register_value(ref.obis, value, self._scaler_units.get(key)))
        return values, answers[len(answers) - len(attributes) :]

    async def read_profile(
        self,
        obis: ObisCode | str,
        *,
        start: datetime | None = None,
        end: datetime | None = None,
        from_entry: int | None = None,
        to_entry: int | None = None,
    ) -> ProfileBuffer:
        """Read a Profile Generic buffer: whole, by time range (on its clock column) or by entries.

        ``start``/``end`` select entries whose clock lies between them (both needed; naive datetimes
        leave the deviation unspecified); ``from_entry``/``to_entry`` are 1-based, ``to_entry`` 0 or
        ``None`` meaning the last. The columns (attribute 3) are read once and cached.
        """
        name = as_obis(obis)
        columns = self._capture_objects.get(name)
        if columns is None:
            columns = parse_capture_objects(
                await self.get(name, PROFILE_GENERIC_CLASS_ID, _CAPTURE_OBJECTS_ATTRIBUTE)
            )
            self._capture_objects[name] = columns
        selection: SelectiveAccessDescriptor | None = None
        if start is not None or end is not None:
            if start is None or end is None or from_entry is not None or to_entry is not None:
                raise EncodeError("a time range needs both start and end, and no entry numbers")
            restricting = next(
                (column for column in columns if column.class_id == CLOCK_CLASS_ID),
                CaptureObjectDefinition(CLOCK_CLASS_ID, CLOCK, _CLOCK_TIME_ATTRIBUTE),
            )
            selection = SelectiveAccessDescriptor.of(
                RangeDescriptor(
                    restricting,
                    Data.octet_string(CosemDateTime.from_datetime(start).to_bytes()),
                    Data.octet_string(CosemDateTime.from_datetime(end).to_bytes()),
                )
            )
        elif from_entry is not None or to_entry is not None:
            selection = SelectiveAccessDescriptor.of(EntryDescriptor(from_entry or 1, to_entry or 0))
        buffer = await self.get(name, PROFILE_GENERIC_CLASS_ID, _BUFFER_ATTRIBUTE, selection)
        return ProfileBuffer(columns, parse_profile_rows(buffer))

    async def read_frame_counter(
        self, public_transport: ApduTransport, obis: ObisCode | str = FRAME_COUNTER
    ) -> int:
        """Read the meter's frame counter as the public client and continue our counter above it.

        ``public_transport`` reaches the same meter with the public client address (16); when it
        shares a port with this client's transport, call this before :meth:`connect`.
        """
        value = await read_frame_counter(public_transport, obis)
        async with self._lock:
            self._connection.advance_invocation_counter(value + 1)
        return value


async def read_frame_counter(
    transport: ApduTransport, obis: ObisCode | str = FRAME_COUNTER, *, settings: ClientSettings | None = None
) -> int:
    """The invocation counter a meter last accepted, read without security (public client, class 1).

    The transport is opened, used for one association and closed again.
    """
    client = DlmsClient(transport, settings or ClientSettings(client_address=PUBLIC_CLIENT_ADDRESS))
    try:
        data = await client.get(obis, DATA_CLASS_ID, 2)
    finally:
        await client.close()
    value = data.value
    if data.tag not in INTEGER_TAGS or type(value) is not int or value < 0:
        raise DecodeError(f"the frame counter {as_obis(obis)} is not an unsigned integer ({data.tag.name})")
    return value
