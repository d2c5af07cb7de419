"""Diagnostics: what a maintainer needs to tell a wrong key from a loose cable, minus the secrets."""

from __future__ import annotations

import contextlib
from dataclasses import asdict
from datetime import datetime
from typing import Any

from homeassistant.components.diagnostics import async_redact_data
from homeassistant.core import HomeAssistant

from .const import CONF_AUTHENTICATION_KEY, CONF_ENCRYPTION_KEY, CONF_PASSWORD, CONF_SYSTEM_TITLE
from .coordinator import DlmsCoordinator
from .models import DlmsCosemConfigEntry
from .poll_coordinator import DlmsPollCoordinator
from .push_coordinator import DlmsPushCoordinator
from .readout_coordinator import DlmsReadoutCoordinator

REDACTED = "**REDACTED**"
TO_REDACT = {
    CONF_PASSWORD,
    CONF_ENCRYPTION_KEY,
    CONF_AUTHENTICATION_KEY,
    CONF_SYSTEM_TITLE,
    "unique_id",
    "serial_number",
    "system_title",
    "logical_device_name",
    "title",
}


def _entry_secrets(entry: DlmsCosemConfigEntry) -> list[bytes]:
    """The entry's unique ID (a serial number or system title), as text and as bytes."""
    secrets: list[bytes] = []
    if entry.unique_id:
        secrets.append(entry.unique_id.encode())
        with contextlib.suppress(ValueError):
            secrets.append(bytes.fromhex(entry.unique_id))  # a system title as the unique ID
    return secrets


def _redact_text(text: str | None, secrets: list[bytes]) -> str | None:
    """An error message with the meter's identifiers blanked out (messages never carry keys)."""
    if text is None:
        return None
    for secret in secrets:
        if secret:
            for form in {secret.decode(errors="ignore"), secret.hex().upper(), secret.hex()}:
                if form:
                    text = text.replace(form, REDACTED)
    return text


def _redact_identifiers(hex_text: str, secrets: list[bytes]) -> str:
    """Raw bytes as hex with serial numbers and system titles blanked out."""
    for secret in secrets:
        if secret:
            hex_text = hex_text.replace(secret.hex().upper(), REDACTED)
    return hex_text


def _hdlc_link(transport: object) -> dict[str, Any] | None:
    """The HDLC link's negotiated limits and counters: slow polls and lost frames show here."""
    from .dlms.transport.hdlc import HdlcTransport  # noqa: PLC0415 - loaded with the client already

    if not isinstance(transport, HdlcTransport):
        return None
    link = transport.link
    return {
        "negotiated": asdict(link.parameters),
        "proposal_refused": link.proposal_refused,
        "frames_sent": link.frames_sent,
        "frames_resent": link.frames_resent,
        "frames_accepted": link.frames_accepted,
        "frames_out_of_sequence": link.frames_out_of_sequence,
        "frames_ignored": link.frames_ignored,
    }


def _guard(coordinator: DlmsCoordinator) -> dict[str, Any]:
    """What the plausibility guard held back, and the totals it waits for the user to accept."""
    guard = coordinator.guard
    return {
        "enabled": guard.enabled,
        "max_power_w": guard.max_power_w,
        "held_total": guard.held_total,
        "held_by_reason": {reason.value: count for reason, count in guard.held_counts.items()},
        "confirmed": guard.confirmed,
        "history_rows_dropped": guard.history_rows_dropped,
        "held_recently": [
            {
                "obis": str(held.key),
                "value": held.value,
                "unit": held.unit,
                "reason": held.reason.value,
                "at": held.at.isoformat(),
                "last_accepted": held.last_accepted,
            }
            for held in guard.held
        ],
        "disputed": [
            {
                "obis": str(dispute.key),
                "kind": dispute.kind.value,
                "last_accepted": dispute.last_accepted,
                "latest": dispute.latest,
                "unit": dispute.unit,
                "since": dispute.since.isoformat(),
            }
            for dispute in guard.disputes.values()
        ],
    }


async def async_get_config_entry_diagnostics(
    hass: HomeAssistant, entry: DlmsCosemConfigEntry
) -> dict[str, Any]:
    """Configuration (secrets redacted), link statistics, and the last raw bytes from the meter.

    Works in every entry state: an entry that is retrying its setup or waiting for new keys is exactly
    when a user downloads them, and then only the configuration and the last error are known.
    """
    runtime = getattr(entry, "runtime_data", None)
    secrets = _entry_secrets(entry)
    diagnostics: dict[str, Any] = {
        "entry": async_redact_data(entry.as_dict(), TO_REDACT),
        "state": entry.state.value,
        "setup_error": _redact_text(entry.reason, secrets),
    }
    if runtime is None:
        return diagnostics
    coordinator = runtime.coordinator
    identity = runtime.identity
    identities = [identity]
    if isinstance(coordinator, DlmsCoordinator):
        identities.append(coordinator.identity)  # a push meter's system title arrives with its telegrams
    secrets.extend(
        value.encode() if isinstance(value, str) else value
        for known in identities
        for value in (known.serial_number, known.logical_device_name, known.system_title)
        if value
    )
    diagnostics["identity"] = async_redact_data(
        {
            "manufacturer": identity.manufacturer,
            "model": identity.model,
            "firmware": identity.firmware,
            "flag_id": identity.flag_id,
            "serial_number": identity.serial_number,
            "system_title": identity.system_title,
            "logical_device_name": identity.logical_device_name,
        },
        TO_REDACT,
    )
    diagnostics["last_update_success"] = coordinator.last_update_success
    diagnostics["last_error"] = _redact_text(
        str(coordinator.last_exception) if coordinator.last_exception is not None else None, secrets
    )
    if runtime.history is not None:  # the load profile backfill: its state, no values
        progress = runtime.history.progress
        diagnostics["history"] = {
            "profile": str(runtime.history.profile) if runtime.history.profile else None,
            "state": progress.state,
            "hours_total": progress.hours_total,
            "hours_done": progress.hours_done,
            "rows_imported": progress.rows_imported,
            "last_imported": progress.last_imported.isoformat() if progress.last_imported else None,
            "error": progress.error,
        }
    if not isinstance(coordinator, DlmsCoordinator):
        return diagnostics
    diagnostics["objects"] = sorted(str(obis) for obis in coordinator.available_objects)
    diagnostics["link_statistics"] = {
        key: value.isoformat() if isinstance(value, datetime) else value
        for key, value in asdict(coordinator.link_statistics).items()
    }
    if isinstance(coordinator, DlmsPollCoordinator) and coordinator.client is not None:
        hdlc = _hdlc_link(coordinator.client.transport)
        if hdlc is not None:
            diagnostics["hdlc"] = hdlc
    if isinstance(coordinator, DlmsReadoutCoordinator) and coordinator.last_readout is not None:
        readout = coordinator.last_readout
        # How the meter was read out; not its identification, which may carry a serial number.
        diagnostics["data_readout"] = {
            "mode": readout.mode.value,
            "baudrate": readout.baudrate,
            "manufacturer_flag": readout.identification.manufacturer,
        }
    diagnostics["plausibility_guard"] = _guard(coordinator)
    if isinstance(coordinator, DlmsPushCoordinator):
        diagnostics["link_state"] = coordinator.link_state.value
        diagnostics["since_last_telegram"] = asdict(coordinator.since_last_telegram) | {
            "replay_title": None,  # a system title: an identifier, left out
            "last_error": _redact_text(coordinator.since_last_telegram.last_error, secrets),
        }
    if isinstance(coordinator, DlmsPushCoordinator) and coordinator.listener is not None:
        diagnostics["decoder"] = {
            "framing": coordinator.listener.decoder.framing,
            **asdict(coordinator.listener.decoder.statistics),
        }
    diagnostics["last_raw_bytes"] = [
        _redact_identifiers(raw.hex().upper(), secrets) for raw in coordinator.raw_frames
    ]
    return diagnostics
