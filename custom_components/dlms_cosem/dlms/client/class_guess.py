"""The interface class an OBIS code most likely has, for reading a meter without its object list.

A GET names the class as well as the logical name, and a meter refuses a wrong one. Reading the
association's object list first costs a large request (many meters answer it in blocks), so a client
that only wants a few values guesses from the OBIS value groups (IEC 62056-6-1; the Blue Book's
"Relation between OBIS and COSEM objects"): A is the medium (0 abstract, 1 electricity), C the
quantity, D the processing. The guess is only a first try: a caller still handles a refusal.
"""

from __future__ import annotations

from collections.abc import Container
from dataclasses import dataclass

from ..obis import ObisCode
from .objects import (
    ASSOCIATION_LN_CLASS_ID,
    CLOCK_CLASS_ID,
    DATA_CLASS_ID,
    EXTENDED_REGISTER_CLASS_ID,
    PROFILE_GENERIC_CLASS_ID,
    REGISTER_CLASS_ID,
)

#: Value group A.
MEDIUM_ABSTRACT = 0
MEDIUM_ELECTRICITY = 1

#: Value group C of abstract objects (A = 0).
CLOCK_OBJECTS = 1
ASSOCIATION_OBJECTS = 40
SAP_ASSIGNMENT_OBJECTS = 41
LOGICAL_DEVICE_NAME_OBJECTS = 42
SECURITY_OBJECTS = 43
#: Value group C of any medium.
GENERAL_PURPOSE_OBJECTS = 0  # identification numbers, program entries, billing period data
SERVICE_ENTRY_OBJECTS = 96  # e.g. 0.0.96.1.0.255, the serial number
ERROR_REGISTER_OBJECTS = 97
DATA_PROFILE_OBJECTS = 98
LOAD_PROFILE_OBJECTS = 99  # load profiles and event logs

#: Value group D of electricity: "Maximum 1" (maximum demand, with its capture time).
MAXIMUM_DEMAND_1 = 6
#: Value group D of the security objects: the security setup, then the invocation counters.
SECURITY_SETUP = 0

SAP_ASSIGNMENT_CLASS_ID = 17
SECURITY_SETUP_CLASS_ID = 64


@dataclass(frozen=True, slots=True)
class ClassRule:
    """OBIS codes matching every given value group (``None``: any value) have ``class_id``."""

    name: str
    class_id: int
    medium: int | None = None
    quantities: Container[int] | None = None
    processing: Container[int] | None = None

    def matches(self, obis: ObisCode) -> bool:
        """Whether ``obis`` lies in this rule's value groups."""
        return (
            (self.medium is None or obis.a == self.medium)
            and (self.quantities is None or obis.c in self.quantities)
            and (self.processing is None or obis.d in self.processing)
        )


#: The first matching rule gives the class. Abstract objects not listed hold values (Data); measured
#: quantities of any medium are Registers.
CLASS_RULES: tuple[ClassRule, ...] = (
    ClassRule("clock", CLOCK_CLASS_ID, MEDIUM_ABSTRACT, {CLOCK_OBJECTS}, {0}),
    ClassRule("association", ASSOCIATION_LN_CLASS_ID, MEDIUM_ABSTRACT, {ASSOCIATION_OBJECTS}, {0}),
    ClassRule("SAP assignment", SAP_ASSIGNMENT_CLASS_ID, MEDIUM_ABSTRACT, {SAP_ASSIGNMENT_OBJECTS}, {0}),
    ClassRule("logical device name", DATA_CLASS_ID, MEDIUM_ABSTRACT, {LOGICAL_DEVICE_NAME_OBJECTS}, {0}),
    ClassRule(
        "security setup", SECURITY_SETUP_CLASS_ID, MEDIUM_ABSTRACT, {SECURITY_OBJECTS}, {SECURITY_SETUP}
    ),
    ClassRule("profile", PROFILE_GENERIC_CLASS_ID, None, {DATA_PROFILE_OBJECTS, LOAD_PROFILE_OBJECTS}),
    ClassRule(
        "identifier or service entry",
        DATA_CLASS_ID,
        None,
        {GENERAL_PURPOSE_OBJECTS, SERVICE_ENTRY_OBJECTS, ERROR_REGISTER_OBJECTS},
    ),
    ClassRule("abstract value", DATA_CLASS_ID, MEDIUM_ABSTRACT),
    ClassRule("maximum demand", EXTENDED_REGISTER_CLASS_ID, MEDIUM_ELECTRICITY, None, {MAXIMUM_DEMAND_1}),
    ClassRule("measured quantity", REGISTER_CLASS_ID),
)


def class_rule(obis: ObisCode) -> ClassRule:
    """The rule that decides the guess for ``obis`` (its name explains the guess in logs and tests)."""
    return next(rule for rule in CLASS_RULES if rule.matches(obis))


def guess_class_id(obis: ObisCode) -> int:
    """The interface class a meter most likely gives ``obis`` (Register when nothing says otherwise)."""
    return class_rule(obis).class_id
