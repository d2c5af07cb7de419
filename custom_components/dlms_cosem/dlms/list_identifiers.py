"""Push lists whose list identifier fixes what the telegram leaves out.

Meters on the Norwegian HAN port send a list version identifier (``Kamstrup_V0001``, ``KFM_001``) and
leave out scaler_unit structures, and Kaifa even the OBIS codes. The vendors' published list
descriptions (NVE's HAN documentation) fix them; this module holds those facts as data. Aidon's lists
(``AIDON_V0001``) carry their own scaler_unit structures, so nothing needs fixing for them.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from functools import cache
from typing import TYPE_CHECKING

from .axdr import DataTag
from .obis import ObisCode
from .units import ScalerUnit, Unit

if TYPE_CHECKING:
    from .push import PushObject

# Units of the quantities these lists carry, by OBIS value group (C, D).
_UNIT_BY_CD: dict[tuple[int, int], Unit] = {
    (1, 7): Unit.WATT,
    (2, 7): Unit.WATT,
    (3, 7): Unit.VAR,
    (4, 7): Unit.VAR,
    (31, 7): Unit.AMPERE,
    (51, 7): Unit.AMPERE,
    (71, 7): Unit.AMPERE,
    (32, 7): Unit.VOLT,
    (52, 7): Unit.VOLT,
    (72, 7): Unit.VOLT,
    (1, 8): Unit.WATT_HOUR,
    (2, 8): Unit.WATT_HOUR,
    (3, 8): Unit.VAR_HOUR,
    (4, 8): Unit.VAR_HOUR,
}

_TEXT_TAGS = frozenset({DataTag.OCTET_STRING, DataTag.VISIBLE_STRING, DataTag.UTF8_STRING})

_CURRENTS = ((31, 7), (51, 7), (71, 7))
_VOLTAGES = ((32, 7), (52, 7), (72, 7))
_ENERGIES = ((1, 8), (2, 8), (3, 8), (4, 8))


def _obis(text: str) -> ObisCode:
    """A code written A.B.C.D.E.F, as the list descriptions write them (no regex needed)."""
    return ObisCode(*(int(group) for group in text.split(".")))


@cache
def _scaler_unit(scaler: int, unit: Unit) -> ScalerUnit:
    """One immutable instance per pair: a list fixes the same few for every telegram."""
    return ScalerUnit(scaler, unit)


@dataclass(frozen=True, slots=True)
class ListProfile:
    """What a list identifier says about the objects of its telegrams."""

    identifier: str
    scalers: dict[tuple[int, int], int] = field(default_factory=dict)
    # OBIS codes by position for telegrams that send bare values, keyed by the number of values.
    positions: dict[int, tuple[ObisCode | None, ...]] = field(default_factory=dict)
    # Kamstrup's CT meters (type 685...) report currents in mA instead of 10 mA.
    ct_meter_type_prefix: str | None = None
    ct_current_scaler: int | None = None

    def obis_for_positions(self, count: int) -> tuple[ObisCode | None, ...] | None:
        """OBIS codes for a telegram of ``count`` bare values, when the list layout is known."""
        return self.positions.get(count)

    def scaler_unit_for(self, obis: ObisCode, *, ct_meter: Callable[[], bool]) -> ScalerUnit | None:
        """The scaler and unit the list fixes for ``obis`` (None for objects without a unit).

        ``ct_meter`` tells whether the telegram comes from a CT meter; it is asked only for currents
        of a list that scales them differently there.
        """
        key = (obis.c, obis.d)
        unit = _UNIT_BY_CD.get(key)
        if unit is None or obis.e != 0:
            return None
        scaler = self.scalers.get(key, 0)
        if key in _CURRENTS and self.ct_meter_type_prefix and ct_meter():
            assert self.ct_current_scaler is not None
            scaler = self.ct_current_scaler
        return _scaler_unit(scaler, unit)

    def is_ct_meter(self, codes: Sequence[ObisCode | None], objects: Sequence[PushObject]) -> bool:
        """Whether the meter type (the first object coded 0.0.96.1.1) names a CT meter of this list."""
        for code, obj in zip(codes, objects, strict=True):
            if code is not None and (code.c, code.d, code.e) == (96, 1, 1):
                raw = obj.raw
                return isinstance(raw, str) and raw.startswith(self.ct_meter_type_prefix or "")
        return False


# Kaifa MA105/MA304 lists (KFM_001): list 2 and list 3, three-phase and single-phase; list 1 (active
# power import alone) names no identifier and applies once an earlier list named KFM_001.
_KAIFA_LIST3_THREE_PHASE: tuple[ObisCode | None, ...] = tuple(
    _obis(code)
    for code in (
        "1.1.0.2.129.255",  # list version identifier
        "0.0.96.1.0.255",  # meter ID
        "0.0.96.1.7.255",  # meter type
        "1.0.1.7.0.255",
        "1.0.2.7.0.255",
        "1.0.3.7.0.255",
        "1.0.4.7.0.255",
        "1.0.31.7.0.255",
        "1.0.51.7.0.255",
        "1.0.71.7.0.255",
        "1.0.32.7.0.255",
        "1.0.52.7.0.255",
        "1.0.72.7.0.255",
        "0.0.1.0.0.255",  # meter clock
        "1.0.1.8.0.255",
        "1.0.2.8.0.255",
        "1.0.3.8.0.255",
        "1.0.4.8.0.255",
    )
)
_KAIFA_LIST3_SINGLE_PHASE = (
    _KAIFA_LIST3_THREE_PHASE[:8] + _KAIFA_LIST3_THREE_PHASE[10:11] + _KAIFA_LIST3_THREE_PHASE[13:]
)

KAIFA = ListProfile(
    identifier="KFM_001",
    scalers={**dict.fromkeys(_CURRENTS, -3), **dict.fromkeys(_VOLTAGES, -1)},
    positions={
        1: (_obis("1.0.1.7.0.255"),),  # list 1: active power import only
        18: _KAIFA_LIST3_THREE_PHASE,
        13: _KAIFA_LIST3_THREE_PHASE[:13],
        14: _KAIFA_LIST3_SINGLE_PHASE,
        9: _KAIFA_LIST3_SINGLE_PHASE[:9],
    },
)

KAMSTRUP = ListProfile(
    identifier="Kamstrup_V0001",
    scalers={**dict.fromkeys(_CURRENTS, -2), **dict.fromkeys(_ENERGIES, 1)},
    ct_meter_type_prefix="685",
    ct_current_scaler=-3,
)

AIDON = ListProfile(identifier="AIDON_V0001")

KNOWN_LISTS: dict[str, ListProfile] = {profile.identifier: profile for profile in (KAIFA, KAMSTRUP, AIDON)}


def find_list_profile(objects: Sequence[PushObject]) -> ListProfile | None:
    """The profile of the first list identifier string found among the objects."""
    for obj in objects:
        if obj.data.tag not in _TEXT_TAGS:
            continue  # only a string can be an identifier; skip computing the others' values
        raw = obj.raw
        if isinstance(raw, str) and raw in KNOWN_LISTS:
            return KNOWN_LISTS[raw]
    return None
