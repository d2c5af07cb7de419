"""M-Bus channels that come and go: their devices follow what the meter says, without a reload.

A gas, water or heat meter on an M-Bus channel is its own device (:mod:`.media`). Such meters are
connected, replaced and taken away while the electricity meter runs on, so:

- a channel that appears after setup (its values in a telegram, or a poll's device type and serial
  naming a device) has its readings (``0.b.24.2.x.255``) selected and shown at once. The entry's
  options remember the channels met (``mbus_channels``), so a channel whose readings the user
  deselected stays deselected, and the channels present when the options were first chosen count
  as met (the flow offered them);
- a channel's device is stale when none of the channel's objects is selected (the user deselected
  them) or when the meter says the channel has no device (a polled meter's device type and serial
  name none, or it no longer lists the channel). It is removed at setup, and as soon as a poll finds
  the channel empty; its objects are deselected and the channel forgotten, so a meter connected
  there later is shown again by itself;
- the user may delete a channel's device that is not live from its device page (a pushing meter
  cannot tell an absent channel from one pushed in another list, so that is left to the user); the
  meter's own device and a live channel's device stay, since the next reading would bring them back.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable

from homeassistant.core import HomeAssistant, callback
from homeassistant.helpers import device_registry as dr

from .const import CONF_MBUS_CHANNELS, CONF_OBJECTS, DOMAIN, LOGGER
from .coordinator import DlmsCoordinator
from .dlms.errors import DlmsError
from .dlms.obis import ObisCode
from .entity import entry_identifier
from .media import is_channel_reading, mbus_channel
from .models import DlmsCosemConfigEntry


def _channel_of(text: object) -> int | None:
    """The M-Bus channel of a selected object (its text in the options), if it belongs to one."""
    try:
        return mbus_channel(ObisCode.parse(str(text)))
    except DlmsError:
        return None


def _selected_channels(entry: DlmsCosemConfigEntry) -> set[int]:
    return {
        channel for text in entry.options.get(CONF_OBJECTS, []) if (channel := _channel_of(text)) is not None
    }


def _coordinator(entry: DlmsCosemConfigEntry) -> DlmsCoordinator | None:
    """The entry's coordinator while it is loaded."""
    runtime = getattr(entry, "runtime_data", None)
    coordinator = getattr(runtime, "coordinator", None)
    return coordinator if isinstance(coordinator, DlmsCoordinator) else None


def device_channel(entry: DlmsCosemConfigEntry, device: dr.DeviceEntry) -> int | None:
    """The M-Bus channel whose device this is (``None``: the meter's own device, or another)."""
    prefix = f"{entry_identifier(entry)}_mbus_"
    for domain, identifier in device.identifiers:
        if domain == DOMAIN and identifier.startswith(prefix) and identifier[len(prefix) :].isdigit():
            return int(identifier[len(prefix) :])
    return None


def _channel_devices(hass: HomeAssistant, entry: DlmsCosemConfigEntry) -> dict[int, dr.DeviceEntry]:
    registry = dr.async_get(hass)
    devices = {}
    for device in dr.async_entries_for_config_entry(registry, entry.entry_id):
        channel = device_channel(entry, device)
        if channel is not None:
            devices[channel] = device
    return devices


@callback
def _update_options(
    hass: HomeAssistant, entry: DlmsCosemConfigEntry, objects: list[str], met: Iterable[int] | None
) -> None:
    """Store the selection and the channels met (no reload: the entities follow by themselves).

    ``met`` None leaves the channels met as they are (unrecorded until the first values arrive).
    """
    options = {**entry.options, CONF_OBJECTS: objects}
    if met is not None:
        options[CONF_MBUS_CHANNELS] = sorted(met)
    if options != entry.options:
        hass.config_entries.async_update_entry(entry, options=options)


@callback
def _forget(hass: HomeAssistant, entry: DlmsCosemConfigEntry, channels: Iterable[int]) -> None:
    """Deselect the channels' objects and forget that they were met, and remove their devices.

    Removing a device removes its entities from the registry, and so from Home Assistant.
    """
    gone = set(channels)
    objects = [text for text in entry.options.get(CONF_OBJECTS, []) if _channel_of(text) not in gone]
    _update_options(hass, entry, objects, _met(entry, gone))
    _remove_devices(hass, entry, gone)


def _met(entry: DlmsCosemConfigEntry, without: set[int]) -> set[int] | None:
    """The channels met but ``without``; ``None`` while none are recorded."""
    if CONF_MBUS_CHANNELS not in entry.options:
        return None
    return {int(channel) for channel in entry.options[CONF_MBUS_CHANNELS]} - without


@callback
def _remove_devices(hass: HomeAssistant, entry: DlmsCosemConfigEntry, channels: set[int]) -> None:
    registry = dr.async_get(hass)
    for channel, device in _channel_devices(hass, entry).items():
        if channel in channels:
            LOGGER.info("The device of M-Bus channel %s of %s is stale: removed", channel, entry.title)
            registry.async_update_device(device.id, remove_config_entry_id=entry.entry_id)


@callback
def async_remove_stale_channels(hass: HomeAssistant, entry: DlmsCosemConfigEntry) -> None:
    """At setup: remove the devices of channels the meter has no device on, or with nothing selected."""
    coordinator = _coordinator(entry)
    absent = coordinator.absent_channels if coordinator is not None else frozenset()
    known = _selected_channels(entry) | {int(c) for c in entry.options.get(CONF_MBUS_CHANNELS, [])}
    if absent & known:
        _forget(hass, entry, absent & known)
    selected = _selected_channels(entry)
    _remove_devices(
        hass, entry, {channel for channel in _channel_devices(hass, entry) if channel not in selected}
    )


async def async_remove_channel_device(
    hass: HomeAssistant, entry: DlmsCosemConfigEntry, device: dr.DeviceEntry
) -> bool:
    """Whether the user may delete the device: a channel's that is not live, never the meter's own.

    A deleted channel's objects are deselected and the channel forgotten, so the device is not made
    again at the next start, and comes back by itself when the channel does.
    """
    channel = device_channel(entry, device)
    if channel is None:
        return (DOMAIN, entry_identifier(entry)) not in device.identifiers
    coordinator = _coordinator(entry)
    if coordinator is not None and channel in coordinator.present_channels:
        return False
    objects = [text for text in entry.options.get(CONF_OBJECTS, []) if _channel_of(text) != channel]
    _update_options(hass, entry, objects, _met(entry, {channel}))
    LOGGER.info("The device of M-Bus channel %s of %s was deleted by the user", channel, entry.title)
    return True


class ChannelFollower:
    """A coordinator listener: shows channels that appear and removes those a poll finds empty.

    ``show`` makes the sensors of newly selected objects (once their values arrive).
    """

    def __init__(
        self, hass: HomeAssistant, entry: DlmsCosemConfigEntry, show: Callable[[list[ObisCode]], None]
    ) -> None:
        self._hass = hass
        self._entry = entry
        self._show = show

    @callback
    def __call__(self) -> None:
        """Compare the channels present with the ones met; act on the difference.

        It runs at every telegram or poll: the work beyond two set operations is done only when a
        channel came or went.
        """
        entry = self._entry
        coordinator = _coordinator(entry)
        if coordinator is None or coordinator.link_statistics.last_update is None:
            return  # nothing heard from the meter yet
        present = coordinator.present_channels
        if CONF_MBUS_CHANNELS not in entry.options:
            # The first values since the options were chosen: the channels here now were offered.
            objects = list(entry.options.get(CONF_OBJECTS, []))
            _update_options(self._hass, entry, objects, present | _selected_channels(entry))
            return
        met = {int(channel) for channel in entry.options[CONF_MBUS_CHANNELS]}
        if absent := coordinator.absent_channels:
            owned = met | _selected_channels(entry) | set(_channel_devices(self._hass, entry))
            if gone := absent & owned:
                _forget(self._hass, entry, gone)
                met -= gone
        if not present - met:
            return
        readings = sorted(
            (
                obis
                for obis in coordinator.available_objects
                if is_channel_reading(obis) and obis.b in present - met
            ),
            key=str,
        )
        # A channel counts as met once its readings are known (a device type may come before them).
        new = {obis.b for obis in readings}
        if not new:
            return
        objects = list(entry.options.get(CONF_OBJECTS, []))
        objects += [str(obis) for obis in readings if str(obis) not in objects]
        _update_options(self._hass, entry, objects, met | new)
        LOGGER.info(
            "M-Bus channel %s of %s appeared: shown (%s)",
            ", ".join(map(str, sorted(new))),
            entry.title,
            ", ".join(map(str, readings)),
        )
        self._show(readings)
        if coordinator.update_interval is not None:
            # A polled meter reads the new selection at the next poll: ask for it now.
            entry.async_create_task(self._hass, coordinator.async_request_refresh())
