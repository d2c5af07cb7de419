"""Billing values: a register's value at the end of a billing period (group F = VZ, e.g. 1.0.1.8.0.3).

Meters keep the totals of previous months as the same OBIS code with F naming the billing period
(0..99 the period counter VZ, 101..126 the last, second last, ... period). When the code with F = 255
is a known cumulative register, the billing value is described like it (device class, unit) but keeps
no statistics: it is a snapshot, not a running total, and must not reach the Energy panel.
"""

from __future__ import annotations

from dataclasses import replace
from typing import Final

from homeassistant.components.sensor import SensorStateClass

from .dlms.obis import ObisCode
from .obis_catalog import DlmsSensorEntityDescription, catalog_entry, describe

BILLING_KEY: Final = "billing_value"
CURRENT_VALUE_F: Final = 255
_TOTALS: Final = (SensorStateClass.TOTAL, SensorStateClass.TOTAL_INCREASING)


def current_value(obis: ObisCode) -> ObisCode:
    """The code of the running value a billing value was taken from (F = 255)."""
    return ObisCode(obis.a, obis.b, obis.c, obis.d, obis.e, CURRENT_VALUE_F)


def describe_billing(obis: ObisCode, unit: str | None) -> DlmsSensorEntityDescription | None:
    """A billing value of a known cumulative register, or ``None`` when ``obis`` is none."""
    if obis.f == CURRENT_VALUE_F:
        return None
    current = current_value(obis)
    template = catalog_entry(current)
    if template is None or template.state_class not in _TOTALS:
        return None
    return replace(
        describe(current, unit),
        key=str(obis),
        translation_key=BILLING_KEY,
        translation_placeholders={"obis": str(current), "period": str(obis.f)},
        state_class=None,
    )
