"""The simulated household: a deterministic load curve per serial number and its closed-form energy."""

from __future__ import annotations

import hashlib
import math
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

# --- time ---------------------------------------------------------------------------------------------

#: The instant the simulated load curves count seconds from.
REFERENCE_INSTANT = datetime(2020, 1, 1, tzinfo=UTC)
_ONE_SECOND = timedelta(seconds=1)


def seconds_since_reference(instant: datetime) -> int:
    """Whole seconds from :data:`REFERENCE_INSTANT` (floored), the time base of the load curves."""
    return (instant - REFERENCE_INSTANT) // _ONE_SECOND


# --- the load curve -----------------------------------------------------------------------------------

_DAY = 86_400.0
_TAU = 2 * math.pi


@dataclass(frozen=True, slots=True)
class _Wave:
    amplitude: float
    period: float
    phase: float

    @property
    def omega(self) -> float:
        return _TAU / self.period

    def value(self, s: float) -> float:
        return self.amplitude * math.sin(self.omega * s + self.phase)

    def integral(self, s: float) -> float:
        """Integral of ``value`` from 0 to ``s``."""
        omega = self.omega
        return self.amplitude * (math.cos(self.phase) - math.cos(omega * s + self.phase)) / omega


class Electricity:
    """A household's deterministic load curve: power as a sum of sines, energy as their integral.

    Everything is a function of whole seconds since :data:`REFERENCE_INSTANT`, so two readings of the
    same second agree and the energy increases by at least ``min power / 3600`` Wh per second — far
    above floating point noise, so the integer registers never step back.
    """

    IMPORT_BASE_W = 600.0
    EXPORT_BASE_W = 1.0
    EXPORT_PEAK_W = 1200.0
    PHASE_SHARES = (0.40, 0.35, 0.25)

    def __init__(self, seed: bytes) -> None:
        digest = hashlib.sha256(b"dlms-simulator:" + seed).digest()
        phases = [byte / 256 * _TAU for byte in digest]
        # Base load plus daily, three-hourly and ten-minute swings; the amplitudes sum below the base.
        self._import = (
            _Wave(300.0, _DAY, phases[0]),
            _Wave(150.0, 3 * 3600.0, phases[1]),
            _Wave(80.0, 617.0, phases[2]),
        )
        # Solar export: EXPORT_PEAK_W * (1 + sin(day))^2 / 4, peaking once a day, plus a trickle.
        self._solar_phase = phases[3]
        self._voltage = tuple((_Wave(2.5, 5_400.0 + 600 * i, phases[4 + i]), phases[7 + i]) for i in range(3))
        self._frequency = (_Wave(0.03, 1_800.0, phases[10]), _Wave(0.01, 97.0, phases[11]))
        self.import_energy_at_reference = 4_000_000.0 + int.from_bytes(digest[12:15], "big") % 1_000_000
        self.export_energy_at_reference = 200_000.0 + int.from_bytes(digest[15:18], "big") % 100_000

    def import_power(self, s: int) -> float:
        """Active power import (W) at second ``s``."""
        return self.IMPORT_BASE_W + sum(wave.value(s) for wave in self._import)

    def export_power(self, s: int) -> float:
        """Active power export (W) at second ``s``."""
        x = _TAU / _DAY * s + self._solar_phase
        return self.EXPORT_BASE_W + self.EXPORT_PEAK_W * (1 + math.sin(x)) ** 2 / 4

    def import_energy(self, s: int) -> float:
        """Active energy import (Wh) at second ``s``."""
        joules = self.IMPORT_BASE_W * s + sum(wave.integral(s) for wave in self._import)
        return max(0.0, self.import_energy_at_reference + joules / 3600)

    def export_energy(self, s: int) -> float:
        """Active energy export (Wh) at second ``s``."""
        omega = _TAU / _DAY
        psi = self._solar_phase
        x = omega * s + psi
        # (1 + sin x)^2 = 3/2 + 2 sin x - cos(2x) / 2
        solar = (
            1.5 * s
            + 2 * (math.cos(psi) - math.cos(x)) / omega
            - (math.sin(2 * x) - math.sin(2 * psi)) / (4 * omega)
        )
        joules = self.EXPORT_BASE_W * s + self.EXPORT_PEAK_W / 4 * solar
        return max(0.0, self.export_energy_at_reference + joules / 3600)

    def voltage(self, phase: int, s: int) -> float:
        """Phase voltage (V), phase 0..2."""
        wave, jitter_phase = self._voltage[phase]
        return 230.0 + wave.value(s) + 0.6 * math.sin(s * 1.7 + jitter_phase)

    def current(self, phase: int, s: int) -> float:
        """Phase current (A): this phase's share of the import power at its voltage."""
        return self.import_power(s) * self.PHASE_SHARES[phase] / self.voltage(phase, s)

    def frequency(self, s: int) -> float:
        """Grid frequency (Hz)."""
        return 50.0 + sum(wave.value(s) for wave in self._frequency)
