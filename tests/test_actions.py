"""The actions (read, set_clock, write, execute) against the simulator over real TCP, in Home Assistant."""

from __future__ import annotations

import logging
from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta
from http import HTTPStatus
from typing import Any

import pytest
from homeassistant.core import HomeAssistant
from homeassistant.exceptions import HomeAssistantError, ServiceValidationError
from homeassistant.helpers import entity_registry as er
from homeassistant.helpers import issue_registry as ir
from homeassistant.helpers.service import async_get_all_descriptions
from homeassistant.setup import async_setup_component
from pytest_homeassistant_custom_component.common import MockConfigEntry
from pytest_homeassistant_custom_component.typing import ClientSessionGenerator

from custom_components.dlms_cosem.const import (
    CONF_ALLOW_CHANGES,
    CONF_OBJECTS,
    CONF_SCAN_INTERVAL,
    DOMAIN,
)
from custom_components.dlms_cosem.dlms.simulator.disconnect_control import (
    DISCONNECT_CONTROL,
    ControlMode,
    ControlState,
    DisconnectControl,
)
from custom_components.dlms_cosem.dlms.simulator.model import SimulatedMeter

from .polled_meter import (
    PASSWORD,
    allow_loopback,  # noqa: F401 - an autouse fixture
    entity,
    polled_entry,
    served_meter,
    set_up,
)
from .test_coordinator import push_entry, push_meter

OBJECTS = ["1.0.1.8.0.255", "1.0.32.7.0.255", "1.0.1.5.0.255"]


@pytest.fixture
async def meter() -> AsyncIterator[tuple[SimulatedMeter, int]]:
    """An LLS meter on the TCP wrapper; public clients are let in too (read only)."""
    async with served_meter() as served:
        yield served


def entry_for(port: int, *, allow_changes: bool | None = None, public: bool = False) -> MockConfigEntry:
    options: dict[str, Any] = {CONF_OBJECTS: OBJECTS, CONF_SCAN_INTERVAL: 30}
    if allow_changes is not None:
        options[CONF_ALLOW_CHANGES] = allow_changes
    return polled_entry(port, options, public=public)


async def call(hass: HomeAssistant, action: str, entry: MockConfigEntry, **data: Any) -> dict[str, Any]:
    response = await hass.services.async_call(
        DOMAIN,
        action,
        {"config_entry_id": entry.entry_id, **data},
        blocking=True,
        return_response=True,
    )
    assert isinstance(response, dict)
    return response


def state(hass: HomeAssistant, entity_id: str) -> str:
    found = hass.states.get(entity_id)
    assert found is not None, entity_id
    return found.state


def disconnector(simulated: SimulatedMeter) -> DisconnectControl:
    found = simulated.find(DISCONNECT_CONTROL)
    assert isinstance(found, DisconnectControl)
    return found


# --- read ----------------------------------------------------------------------------------------------


async def test_read_returns_scaled_values_texts_times_and_profile_rows(
    hass: HomeAssistant, meter: tuple[SimulatedMeter, int]
) -> None:
    _, port = meter
    entry = await set_up(hass, entry_for(port))

    voltage = await call(hass, "read", entry, obis="1-0:32.7.0*255")
    assert voltage["obis"] == "1.0.32.7.0.255"
    assert voltage["class_id"] == 3  # as the object list says
    assert voltage["attribute"] == 2
    assert voltage["type"] == "long_unsigned"
    assert voltage["unit"] == "V"
    assert 220 < voltage["value"] < 240
    assert voltage["value"] == pytest.approx(voltage["raw"] / 10)

    serial = await call(hass, "read", entry, obis="0.0.96.1.0.255")
    assert serial | {} == {
        "obis": "0.0.96.1.0.255",
        "class_id": 1,
        "attribute": 2,
        "type": "octet_string",
        "value": "12345678",
        "raw": "12345678",
        "unit": None,
    }

    scaler = await call(hass, "read", entry, obis="1.0.32.7.0.255", class_id=3, attribute=3)
    assert scaler["type"] == "structure"
    assert scaler["value"] == [-1, 35]  # scaler -1, unit 35 (V)

    meter_clock = await call(hass, "read", entry, obis="0.0.1.0.0.255")
    assert meter_clock["class_id"] == 8
    shown = datetime.fromisoformat(meter_clock["value"])
    assert abs((shown - datetime.now(UTC)).total_seconds()) < 5

    entries = await call(hass, "read", entry, obis="1.0.99.1.0.255", from_entry=1, to_entry=3)
    assert [column["obis"] for column in entries["columns"]] == [
        "0.0.1.0.0.255",
        "1.0.1.8.0.255",
        "1.0.2.8.0.255",
    ]
    assert len(entries["rows"]) == 3
    times = [datetime.fromisoformat(row[0]) for row in entries["rows"]]
    assert times == sorted(times)
    assert times[1] - times[0] == timedelta(minutes=15)
    assert entries["rows"][0][1] <= entries["rows"][2][1]  # energy never decreases

    end = datetime.now(UTC)
    ranged = await call(hass, "read", entry, obis="1.0.99.1.0.255", start=end - timedelta(hours=1), end=end)
    assert 3 <= len(ranged["rows"]) <= 5  # one entry per quarter of an hour
    assert all(
        end - timedelta(hours=1, minutes=1) <= datetime.fromisoformat(row[0]) <= end for row in ranged["rows"]
    )


async def test_read_errors_are_translated_and_leave_the_meter_polled(
    hass: HomeAssistant, meter: tuple[SimulatedMeter, int]
) -> None:
    _, port = meter
    entry = await set_up(hass, entry_for(port))
    with pytest.raises(ServiceValidationError) as invalid:
        await call(hass, "read", entry, obis="1.0.x.8.0")
    assert invalid.value.translation_key == "invalid_obis"
    with pytest.raises(ServiceValidationError) as undefined:
        await call(hass, "read", entry, obis="1.0.99.8.0.255", class_id=3)
    assert undefined.value.translation_key == "unknown_object"
    assert undefined.value.translation_placeholders == {
        "meter": entry.title,
        "obis": "1.0.99.8.0.255",
        "class_id": "3",
        "error": "1.0.99.8.0.255 attribute 2 (class 3): object-undefined",
    }
    with pytest.raises(ServiceValidationError) as selection:
        await call(hass, "read", entry, obis="1.0.1.8.0.255", from_entry=1)
    assert selection.value.translation_key == "selection_needs_profile"
    with pytest.raises(ServiceValidationError) as half:
        await call(hass, "read", entry, obis="1.0.99.1.0.255", start=datetime.now(UTC))
    assert half.value.translation_key == "range_needs_both"
    now = datetime.now(UTC)
    with pytest.raises(ServiceValidationError) as both:
        await call(hass, "read", entry, obis="1.0.99.1.0.255", start=now, end=now, from_entry=1)
    assert both.value.translation_key == "range_or_entries"

    coordinator = entry.runtime_data.coordinator
    await coordinator.async_refresh()
    assert coordinator.last_update_success
    energy = await call(hass, "read", entry, obis="1.0.1.8.0.255")
    assert energy["unit"] == "Wh"
    assert energy["value"] > 0


async def test_reading_an_unknown_object_is_the_callers_mistake_not_a_server_error(
    hass: HomeAssistant,
    meter: tuple[SimulatedMeter, int],
    hass_client: ClientSessionGenerator,
    caplog: pytest.LogCaptureFixture,
) -> None:
    """Over the REST API, as a script or a person calls it: 400 with the translated reason, no ERROR."""
    _, port = meter
    entry = await set_up(hass, entry_for(port))
    assert await async_setup_component(hass, "api", {})
    client = await hass_client()
    caplog.clear()
    answer = await client.post(
        f"/api/services/{DOMAIN}/read?return_response",
        json={"config_entry_id": entry.entry_id, "obis": "1.0.99.8.0.255", "class_id": 3},
    )
    assert answer.status == HTTPStatus.BAD_REQUEST
    assert (await answer.json())["message"] == (
        f"{entry.title} has no object 1.0.99.8.0.255 of class 3 "
        "(1.0.99.8.0.255 attribute 2 (class 3): object-undefined): "
        "check the OBIS code and the class against the meter's object list"
    )
    assert not [record for record in caplog.records if record.levelno >= logging.ERROR]

    # An object the meter has but refuses (the association's secret) is the meter's answer: an error.
    with pytest.raises(HomeAssistantError) as refused:
        await call(hass, "read", entry, obis="0.0.40.0.0.255", class_id=15, attribute=7)
    assert not isinstance(refused.value, ServiceValidationError)
    assert refused.value.translation_key == "meter_error"


# --- write and execute ---------------------------------------------------------------------------------


async def test_changes_are_refused_without_the_option_or_a_management_association(
    hass: HomeAssistant, meter: tuple[SimulatedMeter, int]
) -> None:
    simulated, port = meter
    entry = await set_up(hass, entry_for(port, allow_changes=False))
    for action, extra in (
        ("write", {"obis": str(DISCONNECT_CONTROL), "attribute": 4, "type": "enum", "value": 0}),
        ("execute", {"obis": str(DISCONNECT_CONTROL), "method": 1, "type": "integer", "value": 0}),
        ("set_clock", {}),
    ):
        with pytest.raises(ServiceValidationError) as refused:
            await call(hass, action, entry, **extra)
        assert refused.value.translation_key == "changes_not_allowed", action
        assert refused.value.translation_placeholders == {"meter": "Simulated meter"}
    assert disconnector(simulated).mode is ControlMode.MODE_1
    assert disconnector(simulated).state is ControlState.CONNECTED
    assert (
        er.async_get(hass).async_get_entity_id(
            "switch", DOMAIN, f"12345678_{DISCONNECT_CONTROL}_disconnector"
        )
        is None
    )
    assert await hass.config_entries.async_unload(entry.entry_id)

    public = await set_up(hass, entry_for(port, allow_changes=True, public=True))
    with pytest.raises(ServiceValidationError) as refused:
        await call(hass, "execute", public, obis=str(DISCONNECT_CONTROL), method=1, type="integer", value=0)
    assert refused.value.translation_key == "not_management"
    assert disconnector(simulated).state is ControlState.CONNECTED
    # Reading is for everyone.
    read = await call(hass, "read", public, obis="0.0.96.1.0.255")
    assert read["value"] == "12345678"


async def test_write_and_execute_change_the_meter_and_are_logged_without_secrets(
    hass: HomeAssistant, meter: tuple[SimulatedMeter, int], caplog: pytest.LogCaptureFixture
) -> None:
    simulated, port = meter
    entry = await set_up(hass, entry_for(port, allow_changes=True))
    caplog.set_level(logging.INFO, logger="custom_components.dlms_cosem")

    written = await call(
        hass, "write", entry, obis=str(DISCONNECT_CONTROL), attribute=4, type="enum", value=2
    )
    assert written == {"obis": str(DISCONNECT_CONTROL), "class_id": 70, "attribute": 4, "success": True}
    assert disconnector(simulated).mode is ControlMode.MODE_2

    executed = await call(
        hass, "execute", entry, obis=str(DISCONNECT_CONTROL), method=1, type="integer", value=0
    )
    assert executed == {"obis": str(DISCONNECT_CONTROL), "class_id": 70, "method": 1, "success": True}
    assert disconnector(simulated).state is ControlState.DISCONNECTED

    # The meter refuses a method it does not grant: the error names its answer.
    with pytest.raises(HomeAssistantError) as refused:
        await call(hass, "execute", entry, obis="1.0.1.8.0.255", method=1, type="integer", value=0)
    assert refused.value.translation_key == "meter_error"
    assert "read-write-denied" in str(refused.value.translation_placeholders)

    # An object the meter does not have is the caller's mistake, for a change as for a read.
    for action, number in (("write", {"attribute": 2}), ("execute", {"method": 1})):
        with pytest.raises(ServiceValidationError) as unknown:
            await call(
                hass, action, entry, obis="1.0.99.8.0.255", class_id=3, type="unsigned", value=1, **number
            )
        assert unknown.value.translation_key == "unknown_object", action

    # A value that does not fit its type is refused before anything is sent.
    with pytest.raises(ServiceValidationError) as invalid:
        await call(
            hass, "write", entry, obis=str(DISCONNECT_CONTROL), attribute=4, type="unsigned", value=300
        )
    assert invalid.value.translation_key == "invalid_value"
    with pytest.raises(ServiceValidationError) as untyped:
        await call(hass, "write", entry, obis=str(DISCONNECT_CONTROL), attribute=4, value=1)
    assert untyped.value.translation_key == "missing_type"
    assert disconnector(simulated).mode is ControlMode.MODE_2

    # A new LLS secret (Association LN attribute 7) is written, never logged.
    new_secret = "N3wS3cret"
    await call(
        hass,
        "write",
        entry,
        obis="0.0.40.0.0.255",
        attribute=7,
        type="octet_string",
        value=new_secret.encode().hex(),
    )
    assert simulated.security.password == new_secret.encode()

    changes = [record.getMessage() for record in caplog.records if record.levelno == logging.INFO]
    assert "Write on Simulated meter: attribute 4 of 0.0.96.3.10.255 (class 70), enum 2" in changes, changes
    assert "Execute on Simulated meter: method 1 of 0.0.96.3.10.255 (class 70), integer 0" in changes
    assert (
        "Write on Simulated meter: attribute 7 of 0.0.40.0.0.255 (class 15), <octet_string not logged>"
        in changes
    )
    assert sum(message.endswith(": done") for message in changes) == 3
    for secret in (PASSWORD, new_secret, new_secret.encode().hex(), new_secret.encode().hex().upper()):
        assert secret not in caplog.text


# --- the clock -----------------------------------------------------------------------------------------


async def test_set_clock_brings_the_drift_sensor_back_near_zero(
    hass: HomeAssistant, meter: tuple[SimulatedMeter, int]
) -> None:
    simulated, port = meter
    simulated.clock.offset = timedelta(minutes=-7, seconds=-30)  # the meter is 450 s slow
    entry = await set_up(hass, entry_for(port, allow_changes=True))
    drift_id = entity(hass, "sensor", "clock_drift")
    drift = hass.states.get(drift_id)
    assert drift is not None
    assert drift.attributes["unit_of_measurement"] == "s"
    assert drift.attributes["device_class"] == "duration"
    assert float(drift.state) == pytest.approx(-450, abs=2)

    report = await call(hass, "set_clock", entry, dry_run=True)
    assert report["set"] is False
    assert report["drift"] == pytest.approx(-450, abs=2)
    assert simulated.clock.offset == timedelta(minutes=-7, seconds=-30)  # a dry run changes nothing

    done = await call(hass, "set_clock", entry)
    assert done["set"] is True
    assert done["drift"] == pytest.approx(-450, abs=2)
    assert abs(simulated.clock.offset.total_seconds()) < 2
    # The meter keeps its zone (UTC+1): the time written carries its deviation.
    assert datetime.fromisoformat(done["new_time"]).utcoffset() == timedelta(hours=1)

    await entry.runtime_data.coordinator.async_refresh()
    await hass.async_block_till_done()
    assert abs(float(state(hass, drift_id))) < 2
    # In whole seconds as shown, so a fraction below zero never reads "-0 s".
    assert state(hass, drift_id).lstrip("-").isdigit()
    assert state(hass, drift_id) != "-0"
    again = await call(hass, "set_clock", entry, dry_run=True)
    assert abs(again["drift"]) < 2


# --- the disconnector ----------------------------------------------------------------------------------


async def test_the_disconnector_switches_and_its_state_is_read_back(
    hass: HomeAssistant, meter: tuple[SimulatedMeter, int]
) -> None:
    simulated, port = meter
    await set_up(hass, entry_for(port, allow_changes=True))
    switch_id = entity(hass, "switch", f"{DISCONNECT_CONTROL}_disconnector")
    output_id = entity(hass, "sensor", f"{DISCONNECT_CONTROL}_output_state")
    control_id = entity(hass, "sensor", f"{DISCONNECT_CONTROL}_control_state")
    switch = hass.states.get(switch_id)
    assert switch is not None
    assert "confirm" in switch.attributes["friendly_name"]
    assert (state(hass, switch_id), state(hass, output_id), state(hass, control_id)) == (
        "on",
        "connected",
        "connected",
    )

    await hass.services.async_call("switch", "turn_off", {"entity_id": switch_id}, blocking=True)
    assert disconnector(simulated).state is ControlState.DISCONNECTED
    assert (state(hass, switch_id), state(hass, output_id), state(hass, control_id)) == (
        "off",
        "disconnected",
        "disconnected",
    )

    await hass.services.async_call("switch", "turn_on", {"entity_id": switch_id}, blocking=True)
    assert (state(hass, switch_id), state(hass, output_id), state(hass, control_id)) == (
        "on",
        "connected",
        "connected",
    )

    # Mode 2: a remote reconnection only arms the switch; the customer closes it on site.
    disconnector(simulated).mode = ControlMode.MODE_2
    await hass.services.async_call("switch", "turn_off", {"entity_id": switch_id}, blocking=True)
    await hass.services.async_call("switch", "turn_on", {"entity_id": switch_id}, blocking=True)
    assert (state(hass, switch_id), state(hass, control_id)) == ("off", "ready_for_reconnection")
    disconnector(simulated).press_button()
    await hass.config_entries.async_entries(DOMAIN)[0].runtime_data.coordinator.async_refresh()
    await hass.async_block_till_done()
    assert (state(hass, switch_id), state(hass, control_id)) == ("on", "connected")


async def test_a_refused_switching_raises_a_repair_issue_that_clears(
    hass: HomeAssistant, meter: tuple[SimulatedMeter, int]
) -> None:
    simulated, port = meter
    entry = await set_up(hass, entry_for(port, allow_changes=True))
    switch_id = entity(hass, "switch", f"{DISCONNECT_CONTROL}_disconnector")
    issue_id = f"disconnector_refused_{entry.entry_id}_{DISCONNECT_CONTROL}"

    disconnector(simulated).mode = ControlMode.NONE  # the meter's configuration forbids switching
    with pytest.raises(HomeAssistantError) as refused:
        await hass.services.async_call("switch", "turn_off", {"entity_id": switch_id}, blocking=True)
    assert refused.value.translation_key == "disconnector_refused"
    assert "temporary-failure" in str(refused.value.translation_placeholders)
    issue = ir.async_get(hass).async_get_issue(DOMAIN, issue_id)
    assert issue is not None
    assert issue.translation_key == "disconnector_refused"
    assert issue.translation_placeholders is not None
    assert issue.translation_placeholders["action"] == "disconnect"
    assert state(hass, switch_id) == "on"  # still connected, as the meter says
    assert disconnector(simulated).state is ControlState.CONNECTED

    disconnector(simulated).mode = ControlMode.MODE_1
    await hass.services.async_call("switch", "turn_off", {"entity_id": switch_id}, blocking=True)
    assert ir.async_get(hass).async_get_issue(DOMAIN, issue_id) is None
    assert state(hass, switch_id) == "off"


async def test_an_extended_register_carries_its_capture_time(
    hass: HomeAssistant, meter: tuple[SimulatedMeter, int]
) -> None:
    _, port = meter
    await set_up(hass, entry_for(port))
    demand = hass.states.get(entity(hass, "sensor", "1.0.1.5.0.255"))  # last average demand, class 4
    assert demand is not None
    assert float(demand.state) > 0
    captured = demand.attributes["capture_time"]
    assert isinstance(captured, datetime)
    assert captured.utcoffset() == timedelta(hours=1)  # as the meter shows it
    assert timedelta(0) <= datetime.now(UTC) - captured < timedelta(minutes=15)
    assert (captured.minute % 15, captured.second) == (0, 0)  # the end of a demand period
    # A register without a capture time has no such attribute.
    voltage = hass.states.get(entity(hass, "sensor", "1.0.32.7.0.255"))
    assert voltage is not None
    assert "capture_time" not in voltage.attributes


async def test_a_push_meter_has_no_actions_to_offer(hass: HomeAssistant) -> None:
    server, port = await push_meter()
    try:
        entry = push_entry(port)
        entry.add_to_hass(hass)
        assert await hass.config_entries.async_setup(entry.entry_id)
        await hass.async_block_till_done()
        for action, data in (
            ("read", {"obis": "1.0.1.8.0.255"}),
            ("set_clock", {"dry_run": True}),
            ("execute", {"obis": str(DISCONNECT_CONTROL), "method": 1}),
        ):
            with pytest.raises(ServiceValidationError) as refused:
                await call(hass, action, entry, **data)
            assert refused.value.translation_key == "not_polled", action
        assert (
            er.async_get(hass).async_get_entity_id("sensor", DOMAIN, f"{entry.unique_id}_clock_drift") is None
        )
        assert await hass.config_entries.async_unload(entry.entry_id)
    finally:
        await server.close()


async def test_home_assistant_describes_the_actions_from_services_yaml(
    hass: HomeAssistant, meter: tuple[SimulatedMeter, int], caplog: pytest.LogCaptureFixture
) -> None:
    _, port = meter
    await set_up(hass, entry_for(port))
    descriptions = (await async_get_all_descriptions(hass))[DOMAIN]
    assert set(descriptions) == {"read", "set_clock", "write", "execute"}
    assert set(descriptions["read"]["fields"]) == {
        "config_entry_id",
        "obis",
        "class_id",
        "attribute",
        "start",
        "end",
        "from_entry",
        "to_entry",
    }
    assert descriptions["write"]["fields"]["type"]["selector"]["select"]["translation_key"] == "value_type"
    assert descriptions["read"]["response"] == {"optional": False}
    assert descriptions["set_clock"]["response"] == {"optional": True}
    assert "services.yaml" not in caplog.text  # no schema error logged
