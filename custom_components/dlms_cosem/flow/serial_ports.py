"""The serial ports a form offers: by their stable path, with the names Home Assistant gives them."""

from __future__ import annotations

from homeassistant.core import HomeAssistant
from serialx import SerialPortInfo, list_serial_ports

from .forms import port_label


async def async_serial_ports(hass: HomeAssistant) -> dict[str, str]:
    """The serial ports present, by stable path (/dev/serial/by-id/...), with readable names.

    Home Assistant's usb integration lists them when it is loaded (it is an after-dependency, not a
    dependency: installs without USB have none); serialx lists them otherwise.
    """
    if "usb" in hass.config.components:
        return await _async_usb_serial_ports(hass)
    ports: list[SerialPortInfo] = await hass.async_add_executor_job(list_serial_ports)
    return {str(port.device): port_label(port) for port in ports}


async def _async_usb_serial_ports(hass: HomeAssistant) -> dict[str, str]:
    """The ports the usb integration scans, by their /dev/serial/by-id path, named as it names them."""
    # Imported here: the usb integration imports aiousbwatcher, installed only where it is set up.
    from homeassistant.components import usb  # noqa: PLC0415

    devices = await usb.async_scan_serial_ports(hass)

    def by_id() -> dict[str, str]:  # get_serial_by_id reads /dev/serial/by-id: not in the event loop
        ports: dict[str, str] = {}
        for device in devices:
            path = usb.get_serial_by_id(device.device)
            vid, pid = (device.vid, device.pid) if isinstance(device, usb.USBDevice) else (None, None)
            ports[path] = usb.human_readable_device_name(
                path, device.serial_number, device.manufacturer, device.description, vid, pid
            )
        return ports

    return await hass.async_add_executor_job(by_id)
