"""Config flow: how the meter is reached, its password and keys, a probe of the meter, the objects to show.

Every path ends with a real conversation with the meter (an association, or a pushed telegram that
decodes), so a wrong port, baud rate or key shows in the form instead of as sensors that never update.
Passwords and keys never go back to the browser: forms that would show stored ones show a placeholder
that means "unchanged" instead (see flow.credentials); the forms' fields are built in the flow package.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import Awaitable, Callable, Mapping
from typing import Any, Final

import probatio
from homeassistant.config_entries import (
    SOURCE_REAUTH,
    SOURCE_RECONFIGURE,
    ConfigEntry,
    ConfigEntryState,
    ConfigFlow,
    ConfigFlowResult,
    OperationNotAllowed,
    OptionsFlow,
    UnknownEntry,
)
from homeassistant.core import callback
from homeassistant.helpers.selector import BooleanSelector, TextSelector

from .const import (
    AUTH_HLS_GMAC,
    AUTH_LLS,
    AUTH_NONE,
    CONF_ADVANCED,
    CONF_AUTHENTICATION,
    CONF_BAUDRATE,
    CONF_CONNECTION_TYPE,
    CONF_DATA_READOUT,
    CONF_HDLC,
    CONF_HOST,
    CONF_OBJECTS,
    CONF_OPTICAL_MODE_E,
    CONF_PARITY,
    CONF_PORT,
    CONF_PUSH_TIMEOUT,
    CONF_SCAN_INTERVAL,
    CONF_SYSTEM_TITLE,
    CONF_TOPIC,
    DEFAULT_PUSH_TIMEOUT,
    DEFAULT_SCAN_INTERVAL,
    DEFAULT_TCP_PORT,
    DEFAULT_WAIT_TELEGRAM,
    DOMAIN,
    ConnectionType,
)
from .flow.credentials import SECRET_UNCHANGED, apply_security, secret_fields
from .flow.errors import connection_form, shown_error
from .flow.forms import (
    ADVANCED,
    MANUAL_PORT,
    advanced_from,
    advanced_section,
    line_fields,
    number_selector,
    objects_selector,
    port_selector,
    required,
    select_selector,
    topic_fields,
    topic_from,
    wrapper_section,
)
from .flow.options import DlmsCosemOptionsFlow
from .flow.reconfigure import reconfigure_fields, reconfigured
from .flow.serial_ports import async_serial_ports
from .models import DlmsCosemConfigEntry, MeterIdentity
from .mqtt_source import async_mqtt_ready, topic_place, valid_topic
from .probe import (
    MeterProbe,
    ProbeError,
    probe_polled_meter,
    probe_push_meter,
)

__all__ = ["MANUAL_PORT", "SECRET_UNCHANGED", "DlmsCosemConfigFlow", "DlmsCosemOptionsFlow"]

WAIT_TELEGRAM_TIMEOUT: float = DEFAULT_WAIT_TELEGRAM
"""Seconds the flow listens for a pushed telegram (meters push every 1 to 10 seconds)."""

PROGRESS_GRACE: float = 2.0
"""Seconds a probe may take before the dialog shows its progress step, and the least it shows it.

The frontend listens for a progress step's end only once it has drawn the step: a probe that ends
before (a port that does not open, a refused connection, a meter that pushes at once) would end
unheard, and the dialog would spin for ever. So a quick probe answers with its outcome directly, and
a progress step, once shown, lasts long enough for the frontend to be listening.
"""

DEFAULT_TITLE: Final = "DLMS/COSEM meter"
PUSH_KINDS: Final = frozenset(kind.value for kind in ConnectionType if kind.is_push)


# --- titles and ports ---------------------------------------------------------------------------------


def entry_title(identity: MeterIdentity, unique_id: str) -> str:
    """The manufacturer (when its FLAG ID is known) and what names the meter."""
    name = identity.manufacturer or DEFAULT_TITLE
    return f"{name} {identity.serial_number or identity.logical_device_name or unique_id}"


def _listening_place(data: Mapping[str, Any]) -> tuple[str, ...]:
    """Where a pushing meter is listened to: a serial port's path, a bridge's host and port, a topic."""
    if CONF_TOPIC in data:
        return (topic_place(data),)
    if CONF_HOST in data:
        return (str(data[CONF_HOST]).strip().lower(), str(data.get(CONF_PORT)))
    return (str(data.get(CONF_PORT)),)


async def _shown_until_done(probing: asyncio.Task[MeterProbe], at_least: float) -> None:
    """End with the probe, but not sooner than ``at_least`` seconds from now (see PROGRESS_GRACE).

    The flow manager cancels this task when the user closes the dialog: the probe stops with it.
    """
    try:
        await asyncio.gather(asyncio.wait([probing]), asyncio.sleep(at_least))
    except asyncio.CancelledError:
        probing.cancel()
        raise


# --- config flow --------------------------------------------------------------------------------------


class DlmsCosemConfigFlow(ConfigFlow, domain=DOMAIN):
    """Connection, security, a probe of the meter, objects; reconfigure and reauth probe again."""

    VERSION = 1

    def __init__(self) -> None:
        self._data: dict[str, Any] = {}
        self._errors: dict[str, str] = {}
        self._probe: MeterProbe | None = None
        self._wait_task: asyncio.Task[MeterProbe] | None = None
        self._progress_task: asyncio.Task[None] | None = None
        self._unloaded_entry: ConfigEntry | None = None
        self._restoring: asyncio.Task[None] | None = None

    @staticmethod
    @callback
    def async_get_options_flow(config_entry: DlmsCosemConfigEntry) -> OptionsFlow:
        """Polling interval or telegram timeout, and the objects shown."""
        return DlmsCosemOptionsFlow()

    @property
    def _kind(self) -> ConnectionType:
        return ConnectionType(self._data[CONF_CONNECTION_TYPE])

    def _take_errors(self, errors: dict[str, str] | None = None) -> dict[str, str]:
        taken = {**self._errors, **(errors or {})}
        self._errors = {}
        return taken

    # --- user: how the meter is connected --------------------------------------------------------------

    async def async_step_user(self, user_input: dict[str, Any] | None = None) -> ConfigFlowResult:
        """Serial or network, polled or pushed."""
        return self.async_show_menu(step_id="user", menu_options=[kind.value for kind in ConnectionType])

    async def async_step_serial_poll(self, user_input: dict[str, Any] | None = None) -> ConfigFlowResult:
        """Polled over a serial port (optical probe, RS-485)."""
        return await self._async_start(ConnectionType.SERIAL_POLL)

    async def async_step_network_poll(self, user_input: dict[str, Any] | None = None) -> ConfigFlowResult:
        """Polled over the network (TCP wrapper or HDLC over TCP)."""
        return await self._async_start(ConnectionType.NETWORK_POLL)

    async def async_step_udp_poll(self, user_input: dict[str, Any] | None = None) -> ConfigFlowResult:
        """Polled over UDP (NB-IoT meters, PLC data concentrators: the wrapper on UDP port 4059)."""
        return await self._async_start(ConnectionType.UDP_POLL)

    async def async_step_serial_push(self, user_input: dict[str, Any] | None = None) -> ConfigFlowResult:
        """Pushing to a serial port (customer port)."""
        return await self._async_start(ConnectionType.SERIAL_PUSH)

    async def async_step_network_push(self, user_input: dict[str, Any] | None = None) -> ConfigFlowResult:
        """Pushing through a network bridge (ser2net, ESPHome)."""
        return await self._async_start(ConnectionType.NETWORK_PUSH)

    async def async_step_mqtt_push(self, user_input: dict[str, Any] | None = None) -> ConfigFlowResult:
        """Pushing through a reader that publishes the meter's bytes to an MQTT topic."""
        return await self._async_start(ConnectionType.MQTT_PUSH)

    async def _async_start(self, kind: ConnectionType) -> ConfigFlowResult:
        self._data = {CONF_CONNECTION_TYPE: kind.value}
        if kind is ConnectionType.MQTT_PUSH:
            return await self.async_step_mqtt_topic()
        if kind.is_serial:
            return await self.async_step_serial()
        return await self.async_step_network()

    async def async_step_mqtt_topic(self, user_input: dict[str, Any] | None = None) -> ConfigFlowResult:
        """The topic the reader publishes to, and how its messages carry the bytes (see mqtt_source)."""
        errors: dict[str, str] = {}
        if user_input is not None:
            self._data.update(topic_from(user_input))
            if valid_topic(self._data[CONF_TOPIC]):
                return await self.async_step_security()
            errors[CONF_TOPIC] = "invalid_topic"
        return self.async_show_form(
            step_id="mqtt_topic",
            data_schema=probatio.Schema(topic_fields(self._data)),
            errors=self._take_errors(errors),
        )

    async def async_step_serial(self, user_input: dict[str, Any] | None = None) -> ConfigFlowResult:
        """The port from the list (or "enter manually"), its line settings and, when polled, addresses."""
        push = self._kind.is_push
        if user_input is not None:
            self._data.update(
                {CONF_BAUDRATE: int(user_input[CONF_BAUDRATE]), CONF_PARITY: user_input[CONF_PARITY]}
            )
            if not push:
                for key in ADVANCED:
                    self._data.pop(key, None)
                self._data.update(advanced_from(user_input))
            if user_input[CONF_PORT] == MANUAL_PORT:
                return await self.async_step_serial_manual()
            self._data[CONF_PORT] = user_input[CONF_PORT]
            return await self.async_step_security()

        ports = await async_serial_ports(self.hass)
        current = self._data.get(CONF_PORT)
        fields: dict[Any, Any] = {
            probatio.Required(CONF_PORT, default=current or next(iter(ports), MANUAL_PORT)): port_selector(
                ports, current, manual=True
            ),
            **line_fields(self._data, push=push),
        }
        if not push:
            fields[probatio.Required(CONF_ADVANCED)] = advanced_section(self._data)
        return self.async_show_form(
            step_id="serial", data_schema=probatio.Schema(fields), errors=self._take_errors()
        )

    async def async_step_serial_manual(self, user_input: dict[str, Any] | None = None) -> ConfigFlowResult:
        """A port the list does not show: a device path, or a URL (socket://, rfc2217://, esphome://)."""
        if user_input is not None:
            self._data[CONF_PORT] = user_input[CONF_PORT].strip()
            return await self.async_step_security()
        return self.async_show_form(
            step_id="serial_manual",
            data_schema=probatio.Schema({probatio.Required(CONF_PORT): TextSelector()}),
        )

    async def async_step_udp(self, user_input: dict[str, Any] | None = None) -> ConfigFlowResult:
        """Host and port of the meter or gateway on UDP, and the addresses (the wPort of the meter)."""
        return await self.async_step_network(user_input)

    async def async_step_network(self, user_input: dict[str, Any] | None = None) -> ConfigFlowResult:
        """Host and port; polled meters also HDLC or the TCP wrapper, and their addresses."""
        push = self._kind.is_push
        udp = self._kind.is_udp
        if user_input is not None:
            self._data.update(
                {CONF_HOST: user_input[CONF_HOST].strip(), CONF_PORT: int(user_input[CONF_PORT])}
            )
            if not push and not udp:
                self._data[CONF_HDLC] = bool(user_input.get(CONF_HDLC, False))
            if not push:
                for key in ADVANCED:
                    self._data.pop(key, None)
                self._data.update(advanced_from(user_input))
            return await self.async_step_security()

        # A pushing meter sits behind a bridge whose port only the user knows (ser2net, ESPHome).
        port = self._data.get(CONF_PORT, None if push else DEFAULT_TCP_PORT)
        fields: dict[Any, Any] = {
            required(CONF_HOST, self._data.get(CONF_HOST)): TextSelector(),
            required(CONF_PORT, port): number_selector(1, 65535),
        }
        if not push and not udp:
            fields[probatio.Required(CONF_HDLC, default=bool(self._data.get(CONF_HDLC, False)))] = (
                BooleanSelector()
            )
        if not push:
            form_section = wrapper_section(self._data) if udp else advanced_section(self._data)
            fields[probatio.Required(CONF_ADVANCED)] = form_section
        return self.async_show_form(
            step_id="udp" if udp else "network",
            data_schema=probatio.Schema(fields),
            errors=self._take_errors(),
        )

    async def async_step_security(self, user_input: dict[str, Any] | None = None) -> ConfigFlowResult:
        """Authentication and password (polled), the keys and their suite; then the meter is probed."""
        push = self._kind.is_push
        errors: dict[str, str] = {}
        if user_input is not None:
            data, errors = apply_security(self._data, user_input)
            if not errors:
                self._data = data
                return await self._async_probe()
        fields: dict[Any, Any] = {}
        if not push:
            fields[
                probatio.Required(CONF_AUTHENTICATION, default=self._data.get(CONF_AUTHENTICATION, AUTH_NONE))
            ] = select_selector([AUTH_NONE, AUTH_LLS, AUTH_HLS_GMAC], "authentication")
        fields.update(secret_fields(self._data, password=not push, user_input=user_input))
        return self.async_show_form(
            step_id="security", data_schema=probatio.Schema(fields), errors=self._take_errors(errors)
        )

    # --- probing -------------------------------------------------------------------------------------

    async def _async_probe(self) -> ConfigFlowResult:
        """Meet the meter with the settings in ``_data``: a polled one at once, a pushing one meanwhile."""
        if self.source in (SOURCE_RECONFIGURE, SOURCE_REAUTH):
            await self._async_release_entry()
        elif self._kind.is_push and (entry := self._entry_on_the_same_port()) is not None:
            # Said before the wait: the port is that entry's, so no telegram would come anyway.
            return self.async_abort(
                reason="already_configured", description_placeholders={"title": entry.title}
            )
        if self._kind is ConnectionType.MQTT_PUSH and not await async_mqtt_ready(self.hass):
            self._probe_failed("mqtt_not_set_up")  # the broker is Home Assistant's: set it up there
            return await self._async_error_step(self._error_step("mqtt_not_set_up"))
        if self._kind.is_push:
            return await self.async_step_wait_telegram()
        try:
            self._probe = await probe_polled_meter(self.hass, self._data)
        except ProbeError as err:
            self._probe_failed(err.reason)
            return await self._async_error_step(self._error_step(err.reason))
        return await self.async_step_probed()

    async def async_step_wait_telegram(self, user_input: dict[str, Any] | None = None) -> ConfigFlowResult:
        """Listen for a telegram while the user sees how long it may take."""
        if self._wait_task is None:
            self._wait_task = self.hass.async_create_task(
                probe_push_meter(self.hass, dict(self._data), WAIT_TELEGRAM_TIMEOUT),
                f"{DOMAIN} waiting for a telegram",
            )
            await asyncio.wait([self._wait_task], timeout=PROGRESS_GRACE)  # see PROGRESS_GRACE
            if self._wait_task.done():
                return await self._async_waited(progress=False)
            self._progress_task = self.hass.async_create_task(
                _shown_until_done(self._wait_task, PROGRESS_GRACE), f"{DOMAIN} telegram wait shown"
            )
        assert self._progress_task is not None
        if not self._progress_task.done():
            return self.async_show_progress(
                step_id="wait_telegram",
                progress_action="wait_telegram",
                description_placeholders={"timeout": str(round(WAIT_TELEGRAM_TIMEOUT))},
                progress_task=self._progress_task,
            )
        return await self._async_waited(progress=True)

    async def _async_waited(self, *, progress: bool) -> ConfigFlowResult:
        """The wait's outcome: the form that explains a failure, or the objects of the meter heard."""
        task, self._wait_task, self._progress_task = self._wait_task, None, None
        assert task is not None
        try:
            self._probe = task.result()
        except ProbeError as err:
            self._probe_failed(err.reason)
            step_id = self._error_step(err.reason)
            if progress:
                return self.async_show_progress_done(next_step_id=step_id)
            return await self._async_error_step(step_id)
        if progress:
            return self.async_show_progress_done(next_step_id="probed")
        return await self.async_step_probed()

    def _probe_failed(self, reason: str) -> None:
        self._errors = {"base": shown_error(self._kind, reason)}
        self._restore_entry()

    def _error_step(self, reason: str) -> str:
        """The form whose fields explain the failure."""
        if self.source == SOURCE_RECONFIGURE:
            return "reconfigure"
        if self.source == SOURCE_REAUTH:
            return "reauth_confirm"
        return connection_form(self._kind, reason) or "security"

    async def _async_error_step(self, step_id: str) -> ConfigFlowResult:
        steps: dict[str, Callable[[], Awaitable[ConfigFlowResult]]] = {
            "serial": self.async_step_serial,
            "network": self.async_step_network,
            "udp": self.async_step_udp,
            "mqtt_topic": self.async_step_mqtt_topic,
            "security": self.async_step_security,
            "reconfigure": self.async_step_reconfigure,
            "reauth_confirm": self.async_step_reauth_confirm,
        }
        return await steps[step_id]()

    async def async_step_probed(self, user_input: dict[str, Any] | None = None) -> ConfigFlowResult:
        """The meter answered: one entry per meter, and reconfigure or reauth keep to the same one."""
        probe = self._probe
        assert probe is not None
        # How an optical port opens, as the probe found out (neither: HDLC straight away).
        self._data.pop(CONF_DATA_READOUT, None)
        self._data.pop(CONF_OPTICAL_MODE_E, None)
        if probe.data_readout:
            self._data[CONF_DATA_READOUT] = True
        elif probe.optical_mode_e:
            self._data[CONF_OPTICAL_MODE_E] = True
        if self._kind.is_push:
            self._data.pop(CONF_SYSTEM_TITLE, None)
            if probe.identity.system_title is not None:
                self._data[CONF_SYSTEM_TITLE] = probe.identity.system_title.hex().upper()
        await self.async_set_unique_id(probe.unique_id, raise_on_progress=False)
        if self.source in (SOURCE_RECONFIGURE, SOURCE_REAUTH):
            self._abort_if_unique_id_mismatch()
            self._unloaded_entry = None  # reloaded with the new data below
            return self.async_update_reload_and_abort(self._existing_entry(), data=self._data)
        if (
            entry := self.hass.config_entries.async_entry_for_domain_unique_id(DOMAIN, probe.unique_id)
        ) is not None:
            return self.async_abort(
                reason="already_configured", description_placeholders={"title": entry.title}
            )
        return await self.async_step_objects()

    def _entry_on_the_same_port(self) -> ConfigEntry | None:
        """The entry of a pushing meter that listens where this one would (one listener per port)."""
        where = _listening_place(self._data)
        for entry in self._async_current_entries(include_ignore=False):
            if entry.data.get(CONF_CONNECTION_TYPE) in PUSH_KINDS and _listening_place(entry.data) == where:
                return entry
        return None

    async def async_step_objects(self, user_input: dict[str, Any] | None = None) -> ConfigFlowResult:
        """Which of the meter's objects become sensors; energy, power, voltage and current to start with."""
        probe = self._probe
        assert probe is not None
        errors: dict[str, str] = {}
        if user_input is not None and not user_input.get(CONF_OBJECTS):
            errors["base"] = "no_objects"  # a device without sensors would look broken
        elif user_input is not None:
            options: dict[str, Any] = {CONF_OBJECTS: list(user_input[CONF_OBJECTS])}
            if self._kind.is_push:
                options[CONF_PUSH_TIMEOUT] = DEFAULT_PUSH_TIMEOUT
            else:
                options[CONF_SCAN_INTERVAL] = DEFAULT_SCAN_INTERVAL
            return self.async_create_entry(
                title=entry_title(probe.identity, probe.unique_id), data=self._data, options=options
            )
        preselected = [choice.obis for choice in probe.objects if choice.preselected]
        return self.async_show_form(
            step_id="objects",
            data_schema=probatio.Schema(
                {probatio.Optional(CONF_OBJECTS, default=preselected): objects_selector(probe.objects)}
            ),
            errors=errors,
        )

    # --- reconfigure and reauth ----------------------------------------------------------------------

    def _existing_entry(self) -> ConfigEntry:
        if self.source == SOURCE_RECONFIGURE:
            return self._get_reconfigure_entry()
        return self._get_reauth_entry()

    async def _async_release_entry(self) -> None:
        """Unload the entry while its meter is probed: its port would be busy (serial ports are exclusive)."""
        if self._restoring is not None:
            await self._restoring  # back from the last attempt: unload it again
            self._restoring = None
        entry = self._existing_entry()
        if entry.state in (ConfigEntryState.LOADED, ConfigEntryState.SETUP_RETRY):
            await self.hass.config_entries.async_unload(entry.entry_id)
            self._unloaded_entry = entry

    @callback
    def _restore_entry(self) -> None:
        """Start the entry again with its old data after a failed probe or an abandoned flow."""
        entry, self._unloaded_entry = self._unloaded_entry, None
        if entry is not None:
            self._restoring = self.hass.async_create_task(
                self._async_start_again(entry, self._wait_task), f"{DOMAIN} start {entry.title} again"
            )

    async def _async_start_again(self, entry: ConfigEntry, probing: asyncio.Task[MeterProbe] | None) -> None:
        # The probe must have closed the port before the entry opens it again. A setup, not a reload:
        # a reload would abort this very flow when it is a reauth.
        if probing is not None:
            probing.cancel()
            await asyncio.wait([probing])
        # Set up again or removed meanwhile (by the user, in another tab): nothing left to do.
        with contextlib.suppress(OperationNotAllowed, UnknownEntry):
            await self.hass.config_entries.async_setup(entry.entry_id)

    @callback
    def async_remove(self) -> None:
        """The flow ended or was abandoned: a meter unloaded for probing must not stay down."""
        self._restore_entry()

    async def async_step_reconfigure(self, user_input: dict[str, Any] | None = None) -> ConfigFlowResult:
        """Port or host, line settings, addresses, password, keys and suite; the meter is probed again."""
        entry = self._get_reconfigure_entry()
        if not self._data:
            self._data = dict(entry.data)
        kind = self._kind
        errors: dict[str, str] = {}
        if user_input is not None:
            data, errors = reconfigured(self._data, user_input)
            if not errors:
                self._data = data
                return await self._async_probe()
        ports = await async_serial_ports(self.hass) if kind.is_serial else {}
        return self.async_show_form(
            step_id="reconfigure",
            data_schema=probatio.Schema(reconfigure_fields(self._data, ports, user_input)),
            errors=self._take_errors(errors),
        )

    async def async_step_reauth(self, entry_data: Mapping[str, Any]) -> ConfigFlowResult:
        """The meter refused the password or keys, or its telegrams stopped decoding."""
        self._data = dict(entry_data)
        return await self.async_step_reauth_confirm()

    async def async_step_reauth_confirm(self, user_input: dict[str, Any] | None = None) -> ConfigFlowResult:
        """New password (for LLS), keys and suite; the meter is probed with them before they are stored."""
        errors: dict[str, str] = {}
        if user_input is not None:
            # "Unchanged" is what the form showed: the stored secrets, or those of the last attempt.
            data, errors = apply_security(self._data, user_input)
            if not errors:
                self._data = data
                return await self._async_probe()
        password = not self._kind.is_push and self._data.get(CONF_AUTHENTICATION) == AUTH_LLS
        return self.async_show_form(
            step_id="reauth_confirm",
            data_schema=probatio.Schema(secret_fields(self._data, password=password, user_input=user_input)),
            errors=self._take_errors(errors),
        )
