"""Actions: read any object of a polled meter, set its clock, write attributes and invoke methods.

Each action names a config entry and goes through that entry's client, whose lock serialises its
requests with the polls (one association, never two in parallel). Changing the meter (write,
execute, set_clock) is refused unless the entry associates as a management client (LLS or HLS) and
the option "allow changes to the meter" is on; every change is logged at info, without secrets.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from datetime import datetime
from functools import partial
from typing import TYPE_CHECKING, Any, Final

import probatio
from homeassistant.core import HomeAssistant, ServiceCall, ServiceResponse, SupportsResponse, callback
from homeassistant.exceptions import HomeAssistantError, ServiceValidationError
from homeassistant.helpers import config_validation as cv
from homeassistant.helpers import selector, service
from homeassistant.util import dt as dt_util

from .const import AUTH_HLS_GMAC, AUTH_LLS, CONF_ALLOW_CHANGES, CONF_AUTHENTICATION, DOMAIN, LOGGER
from .dlms.axdr import Data
from .dlms.errors import DlmsError, EncodeError, ObjectUndefinedError
from .dlms.obis import ObisCode
from .meter_state import CLOCK, CLOCK_CLASS_ID, CLOCK_TIME
from .meter_values import (
    VALUE_TYPES,
    JsonValue,
    clock_drift,
    clock_setting,
    data_from_json,
    data_to_json,
    meter_time,
    type_name,
)
from .poll_coordinator import VALUE_CLASSES, DlmsPollCoordinator

if TYPE_CHECKING:
    from .dlms.client import DlmsClient
    from .models import DlmsCosemConfigEntry

ATTR_CONFIG_ENTRY_ID: Final = "config_entry_id"
ATTR_OBIS: Final = "obis"
ATTR_CLASS_ID: Final = "class_id"
ATTR_ATTRIBUTE: Final = "attribute"
ATTR_METHOD: Final = "method"
ATTR_START: Final = "start"
ATTR_END: Final = "end"
ATTR_FROM_ENTRY: Final = "from_entry"
ATTR_TO_ENTRY: Final = "to_entry"
ATTR_TYPE: Final = "type"
ATTR_VALUE: Final = "value"
ATTR_DRY_RUN: Final = "dry_run"

SERVICE_READ: Final = "read"
SERVICE_SET_CLOCK: Final = "set_clock"
SERVICE_WRITE: Final = "write"
SERVICE_EXECUTE: Final = "execute"

PROFILE_GENERIC_CLASS_ID: Final = 7
PROFILE_BUFFER: Final = 2
#: Classes whose attributes hold secrets (Association LN's LLS secret, Security setup's keys).
SECRET_CLASSES: Final = frozenset({15, 64})

_ENTRY: dict[Any, Any] = {
    probatio.Required(ATTR_CONFIG_ENTRY_ID): selector.ConfigEntrySelector({"integration": DOMAIN})
}
_OBJECT: dict[Any, Any] = {
    **_ENTRY,
    probatio.Required(ATTR_OBIS): cv.string,
    probatio.Optional(ATTR_CLASS_ID): probatio.All(probatio.Coerce(int), probatio.Range(min=1, max=0xFFFF)),
}
_ID = probatio.All(probatio.Coerce(int), probatio.Range(min=1, max=0xFF))
_ENTRY_NUMBER = probatio.All(probatio.Coerce(int), probatio.Range(min=1, max=0xFFFF_FFFF))
_VALUE: dict[Any, Any] = {
    probatio.Optional(ATTR_TYPE): probatio.In(tuple(VALUE_TYPES)),
    probatio.Optional(ATTR_VALUE): object,
}

READ_SCHEMA: Final = probatio.Schema(
    {
        **_OBJECT,
        probatio.Optional(ATTR_ATTRIBUTE, default=2): _ID,
        probatio.Optional(ATTR_START): cv.datetime,
        probatio.Optional(ATTR_END): cv.datetime,
        probatio.Optional(ATTR_FROM_ENTRY): _ENTRY_NUMBER,
        probatio.Optional(ATTR_TO_ENTRY): _ENTRY_NUMBER,
    }
)
SET_CLOCK_SCHEMA: Final = probatio.Schema(
    {**_ENTRY, probatio.Optional(ATTR_DRY_RUN, default=False): cv.boolean}
)
WRITE_SCHEMA: Final = probatio.Schema({**_OBJECT, probatio.Required(ATTR_ATTRIBUTE): _ID, **_VALUE})
EXECUTE_SCHEMA: Final = probatio.Schema({**_OBJECT, probatio.Required(ATTR_METHOD): _ID, **_VALUE})


def changes_refused(entry: DlmsCosemConfigEntry) -> str | None:
    """Why the entry may not change its meter (a translation key), or None when it may."""
    if entry.data.get(CONF_AUTHENTICATION) not in (AUTH_LLS, AUTH_HLS_GMAC):
        return "not_management"
    if not entry.options.get(CONF_ALLOW_CHANGES, False):
        return "changes_not_allowed"
    return None


def _require_changes(entry: DlmsCosemConfigEntry) -> None:
    reason = changes_refused(entry)
    if reason is not None:
        raise ServiceValidationError(
            translation_domain=DOMAIN, translation_key=reason, translation_placeholders={"meter": entry.title}
        )


def _polled(call: ServiceCall) -> tuple[DlmsCosemConfigEntry, DlmsPollCoordinator, DlmsClient]:
    entry: DlmsCosemConfigEntry = service.async_get_config_entry(
        call.hass, DOMAIN, call.data[ATTR_CONFIG_ENTRY_ID]
    )
    coordinator = entry.runtime_data.coordinator
    if not isinstance(coordinator, DlmsPollCoordinator) or coordinator.client is None:
        raise ServiceValidationError(
            translation_domain=DOMAIN,
            translation_key="not_polled",
            translation_placeholders={"meter": entry.title},
        )
    return entry, coordinator, coordinator.client


def _obis(call: ServiceCall) -> ObisCode:
    try:
        return ObisCode.parse(call.data[ATTR_OBIS])
    except DlmsError:
        raise ServiceValidationError(
            translation_domain=DOMAIN,
            translation_key="invalid_obis",
            translation_placeholders={"obis": str(call.data[ATTR_OBIS])[:40]},
        ) from None


def _class_id(call: ServiceCall, coordinator: DlmsPollCoordinator, obis: ObisCode) -> int:
    """The class given, else the one the meter lists, else the guess from the OBIS code."""
    given = call.data.get(ATTR_CLASS_ID)
    if given is not None:
        return int(given)
    listed = coordinator.object_classes.get(obis)
    if listed is not None:
        return listed
    from .dlms.client.class_guess import guess_class_id  # noqa: PLC0415 - loaded with the client

    return guess_class_id(obis)


def _value(call: ServiceCall, *, required: bool) -> Data | None:
    name = call.data.get(ATTR_TYPE)
    if name is None:
        if required or ATTR_VALUE in call.data:
            raise ServiceValidationError(translation_domain=DOMAIN, translation_key="missing_type")
        return None
    try:
        return data_from_json(str(name), call.data.get(ATTR_VALUE))
    except EncodeError as err:
        raise ServiceValidationError(
            translation_domain=DOMAIN,
            translation_key="invalid_value",
            translation_placeholders={"type": str(name), "error": str(err)},
        ) from None


def _meter_error(
    entry: DlmsCosemConfigEntry, err: DlmsError, obis: ObisCode | None = None, class_id: int | None = None
) -> HomeAssistantError:
    """What the caller sees when the meter refused.

    An object the meter does not have is the caller's mistake (a typo in the OBIS code, a wrong
    class): a validation error, which the API answers with 400 and Home Assistant does not log as
    its own failure. Everything else (no answer, access denied, a broken link) stays an error.
    """
    if isinstance(err, ObjectUndefinedError) and obis is not None and class_id is not None:
        return ServiceValidationError(
            translation_domain=DOMAIN,
            translation_key="unknown_object",
            translation_placeholders={
                "meter": entry.title,
                "obis": str(obis),
                "class_id": str(class_id),
                "error": str(err),
            },
        )
    return HomeAssistantError(
        translation_domain=DOMAIN,
        translation_key="meter_error",
        translation_placeholders={"meter": entry.title, "error": str(err)},
    )


def _shown(class_id: int, value: Data | None) -> str:
    """The value as the log shows it: never the content of a secret-holding class."""
    if value is None:
        return "no parameters"
    if class_id in SECRET_CLASSES:
        return f"<{type_name(value)} not logged>"
    return f"{type_name(value)} {data_to_json(value)!r}"


# --- handlers ---------------------------------------------------------------------------------------------


async def _read(call: ServiceCall) -> ServiceResponse:
    entry, coordinator, client = _polled(call)
    obis = _obis(call)
    class_id = _class_id(call, coordinator, obis)
    attribute = int(call.data[ATTR_ATTRIBUTE])
    start: datetime | None = call.data.get(ATTR_START)
    end: datetime | None = call.data.get(ATTR_END)
    first: int | None = call.data.get(ATTR_FROM_ENTRY)
    last: int | None = call.data.get(ATTR_TO_ENTRY)
    selective = any(item is not None for item in (start, end, first, last))
    answer: dict[str, JsonValue] = {"obis": str(obis), "class_id": class_id, "attribute": attribute}
    if selective and (class_id != PROFILE_GENERIC_CLASS_ID or attribute != PROFILE_BUFFER):
        raise ServiceValidationError(translation_domain=DOMAIN, translation_key="selection_needs_profile")
    if selective and (start is None) != (end is None):
        raise ServiceValidationError(translation_domain=DOMAIN, translation_key="range_needs_both")
    if start is not None and (first is not None or last is not None):
        raise ServiceValidationError(translation_domain=DOMAIN, translation_key="range_or_entries")
    try:
        if class_id == PROFILE_GENERIC_CLASS_ID and attribute == PROFILE_BUFFER:
            if start is not None and end is not None:
                zone = dt_util.get_default_time_zone()
                start, end = (
                    moment if moment.tzinfo else moment.replace(tzinfo=zone) for moment in (start, end)
                )
            profile = await client.read_profile(obis, start=start, end=end, from_entry=first, to_entry=last)
            answer["columns"] = [
                {
                    "class_id": column.class_id,
                    "obis": str(column.logical_name),
                    "attribute": column.attribute_index,
                }
                for column in profile.columns
            ]
            answer["rows"] = [[data_to_json(cell) for cell in row] for row in profile.rows]
            return answer
        answer.update(await _read_value(client, obis, class_id, attribute))
    except DlmsError as err:
        raise _meter_error(entry, err, obis, class_id) from err
    return answer


async def _read_value(
    client: DlmsClient, obis: ObisCode, class_id: int, attribute: int
) -> dict[str, JsonValue]:
    """One attribute; a register's value comes scaled, with its unit."""
    from .dlms.client import RegisterReference  # noqa: PLC0415 - loaded with the client

    if class_id in VALUE_CLASSES and attribute == RegisterReference(obis, class_id).value_attribute:
        (result,) = await client.read_registers([RegisterReference(obis, class_id)])
        if isinstance(result, DlmsError):
            raise result
        scaled = result.value
        shown: JsonValue = (
            scaled
            if isinstance(scaled, int | float) and not isinstance(scaled, bool)
            else data_to_json(result.raw)
        )
        return {
            "type": type_name(result.raw),
            "value": shown,
            "raw": data_to_json(result.raw),
            "unit": result.unit,
        }
    data = await client.get(obis, class_id, attribute)
    return {"type": type_name(data), "value": data_to_json(data), "raw": data_to_json(data), "unit": None}


async def _set_clock(call: ServiceCall) -> ServiceResponse:
    entry, coordinator, client = _polled(call)
    dry_run = bool(call.data[ATTR_DRY_RUN])
    if not dry_run:
        _require_changes(entry)
    try:
        before = dt_util.utcnow()
        current = await client.get(CLOCK, CLOCK_CLASS_ID, CLOCK_TIME)
        middle = before + (dt_util.utcnow() - before) / 2
        drift = clock_drift(meter_time(current, dt_util.get_default_time_zone()), middle)
        answer: dict[str, JsonValue] = {"drift": drift, "meter_time": data_to_json(current), "set": False}
        if dry_run:
            return answer
        setting = clock_setting(current, dt_util.now())
        LOGGER.info(
            "Setting the clock of %s (it was %.2f s off): %s", entry.title, drift, data_to_json(setting)
        )
        await client.set(CLOCK, CLOCK_CLASS_ID, CLOCK_TIME, setting)
    except DlmsError as err:
        LOGGER.info("Setting the clock of %s failed: %s", entry.title, err)
        raise _meter_error(entry, err) from err
    answer["set"] = True
    answer["new_time"] = data_to_json(setting)
    await coordinator.async_request_refresh()
    return answer


async def _change(
    call: ServiceCall,
    apply: Callable[[DlmsClient, ObisCode, int, Data | None], Awaitable[Data | None]],
    what: str,
) -> ServiceResponse:
    entry, coordinator, client = _polled(call)
    _require_changes(entry)
    obis = _obis(call)
    class_id = _class_id(call, coordinator, obis)
    value = _value(call, required=what == SERVICE_WRITE)
    number = int(call.data[ATTR_ATTRIBUTE if what == SERVICE_WRITE else ATTR_METHOD])
    kind = "attribute" if what == SERVICE_WRITE else "method"
    LOGGER.info(
        "%s on %s: %s %d of %s (class %d), %s",
        what.capitalize(),
        entry.title,
        kind,
        number,
        obis,
        class_id,
        _shown(class_id, value),
    )
    try:
        returned = await apply(client, obis, class_id, value)
    except DlmsError as err:
        LOGGER.info("%s on %s refused: %s", what.capitalize(), entry.title, err)
        raise _meter_error(entry, err, obis, class_id) from err
    LOGGER.info("%s on %s: done", what.capitalize(), entry.title)
    await coordinator.async_request_refresh()
    answer: dict[str, Any] = {"obis": str(obis), "class_id": class_id, kind: number, "success": True}
    if returned is not None:
        answer["returned"] = data_to_json(returned)
        answer["returned_type"] = type_name(returned)
    return answer


async def _write(
    attribute: int, client: DlmsClient, obis: ObisCode, class_id: int, value: Data | None
) -> Data | None:
    assert value is not None
    await client.set(obis, class_id, attribute, value)
    return None


async def _execute(
    method: int, client: DlmsClient, obis: ObisCode, class_id: int, value: Data | None
) -> Data | None:
    return await client.action(obis, class_id, method, value)


async def _write_call(call: ServiceCall) -> ServiceResponse:
    return await _change(call, partial(_write, int(call.data[ATTR_ATTRIBUTE])), SERVICE_WRITE)


async def _execute_call(call: ServiceCall) -> ServiceResponse:
    return await _change(call, partial(_execute, int(call.data[ATTR_METHOD])), SERVICE_EXECUTE)


@callback
def async_setup_services(hass: HomeAssistant) -> None:
    """Register the actions (once, for all entries)."""
    hass.services.async_register(DOMAIN, SERVICE_READ, _read, READ_SCHEMA, SupportsResponse.ONLY)
    hass.services.async_register(
        DOMAIN, SERVICE_SET_CLOCK, _set_clock, SET_CLOCK_SCHEMA, SupportsResponse.OPTIONAL
    )
    hass.services.async_register(DOMAIN, SERVICE_WRITE, _write_call, WRITE_SCHEMA, SupportsResponse.OPTIONAL)
    hass.services.async_register(
        DOMAIN, SERVICE_EXECUTE, _execute_call, EXECUTE_SCHEMA, SupportsResponse.OPTIONAL
    )
