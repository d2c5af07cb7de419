"""The interface class guessed from an OBIS code when the object list is not read."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from custom_components.dlms_cosem.dlms.client.class_guess import CLASS_RULES, class_rule, guess_class_id
from custom_components.dlms_cosem.dlms.obis import ObisCode

DATA, REGISTER, EXTENDED_REGISTER, PROFILE_GENERIC, CLOCK, ASSOCIATION_LN = 1, 3, 4, 7, 8, 15


@pytest.mark.parametrize(
    ("obis", "class_id", "rule"),
    [
        # Abstract objects (A = 0).
        ("0.0.1.0.0.255", CLOCK, "clock"),
        ("0.0.40.0.0.255", ASSOCIATION_LN, "association"),
        ("0.0.40.0.1.255", ASSOCIATION_LN, "association"),
        ("0.0.41.0.0.255", 17, "SAP assignment"),
        ("0.0.42.0.0.255", DATA, "logical device name"),
        ("0.0.43.0.0.255", 64, "security setup"),
        ("0.0.43.1.0.255", DATA, "abstract value"),  # the frame counter
        ("0.0.96.1.0.255", DATA, "identifier or service entry"),  # serial number
        ("0.0.96.14.0.255", DATA, "identifier or service entry"),  # current tariff
        ("0.0.97.97.0.255", DATA, "identifier or service entry"),  # error register
        ("0.0.0.1.0.255", DATA, "identifier or service entry"),  # billing period counter
        ("0.0.99.98.0.255", PROFILE_GENERIC, "profile"),  # standard event log
        ("0.0.10.0.0.255", DATA, "abstract value"),  # nothing more specific is known
        # Electricity (A = 1).
        ("1.0.0.2.0.255", DATA, "identifier or service entry"),  # firmware identifier
        ("1.0.96.5.0.255", DATA, "identifier or service entry"),
        ("1.0.99.1.0.255", PROFILE_GENERIC, "profile"),  # load profile
        ("1.0.98.1.0.255", PROFILE_GENERIC, "profile"),  # billing values
        ("1.0.1.8.0.255", REGISTER, "measured quantity"),  # active energy import
        ("1.0.2.8.1.255", REGISTER, "measured quantity"),  # export, tariff 1
        ("1.0.1.7.0.255", REGISTER, "measured quantity"),  # active power
        ("1.0.32.7.0.255", REGISTER, "measured quantity"),  # voltage L1
        ("1.0.31.7.0.255", REGISTER, "measured quantity"),  # current L1
        ("1.0.13.7.0.255", REGISTER, "measured quantity"),  # power factor
        ("1.0.14.7.0.255", REGISTER, "measured quantity"),  # frequency
        ("1.0.1.6.0.255", EXTENDED_REGISTER, "maximum demand"),
        ("1.0.2.6.1.255", EXTENDED_REGISTER, "maximum demand"),
        # Other media: measured quantities are registers; D = 6 means something else there.
        ("7.0.3.0.0.255", REGISTER, "measured quantity"),  # gas volume
        ("7.0.3.6.0.255", REGISTER, "measured quantity"),
        ("8.0.1.0.0.255", REGISTER, "measured quantity"),  # water volume
    ],
)
def test_guess_by_value_groups(obis: str, class_id: int, rule: str) -> None:
    code = ObisCode.parse(obis)
    assert guess_class_id(code) == class_id
    assert class_rule(code).name == rule


@given(st.tuples(*[st.integers(0, 255)] * 6))
def test_every_obis_code_gets_a_guess_of_a_listed_rule(groups: tuple[int, ...]) -> None:
    code = ObisCode(*groups)
    rule = class_rule(code)
    assert rule in CLASS_RULES
    assert rule.matches(code)
    # The first matching rule decides: none before it matches.
    assert not any(earlier.matches(code) for earlier in CLASS_RULES[: CLASS_RULES.index(rule)])
    assert guess_class_id(code) == rule.class_id
