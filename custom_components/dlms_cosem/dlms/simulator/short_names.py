"""Short name view of the simulated meter: base names for its objects and the Association SN object.

A short name meter gives each object a base name of its choice; attribute n is then read or written at
base name + 8 (n - 1). The simulator assigns them in object order, :data:`BASE_NAME_STEP` apart (room
for every attribute and method of any class it models), and lists them in the object list of
Association SN (class 12) at the base name 0xFA00, which replaces Association LN in this view.

Methods have names too: method m of an object is at base name + the class's first method offset (Blue
Book, :data:`~..apdu.short_name.FIRST_METHOD_OFFSETS`) + 8 (m - 1), invoked by reading or writing that
name. Association SN's method 8, reply_to_HLS_authentication (0xFA58), completes HLS-GMAC.
"""

from __future__ import annotations

from ..apdu import ATTRIBUTE_NAME_STEP, DataAccessResult, method_of_name
from ..axdr import Data, DataTag
from ..obis import ObisCode
from .access import MethodAccess
from .model import AccessFailureError, AccessLevel, AssociationLN, CosemObject, RequestContext, SimulatedMeter

#: Base name of the current Association SN object (the vaa-name of a short name server).
ASSOCIATION_SN_BASE_NAME = 0xFA00
#: Base name of the first object; the names below are left free, as meters do.
FIRST_BASE_NAME = 0x0100
#: Distance between base names: 32 variable names each.
BASE_NAME_STEP = 0x0100


#: Association SN's method 8: the client's f(StoC) in, the server's f(CtoS) out (HLS pass 3 and 4).
REPLY_TO_HLS_AUTHENTICATION = 8


class AssociationSN(CosemObject):
    """Association SN (class 12, version 0): ``object_list`` of base names, class, version and name.

    Attributes 3 (access_rights_list) and 4 (security_setup_reference) are not modelled. Of the eight
    methods only reply_to_HLS_authentication (8) is, open to the association being authenticated, as
    Association LN's method 1 is.
    """

    class_id = 12
    attribute_count = 4
    method_count = 8

    def __init__(self, logical_name: ObisCode, names: BaseNames) -> None:
        super().__init__(logical_name, public=True)
        self._names = names

    def _get(self, attribute: int, context: RequestContext) -> Data:
        if attribute == 2:
            return self._names.object_list(context.level)
        raise AccessFailureError(DataAccessResult.OBJECT_UNAVAILABLE, "not modelled")

    def method_access(self, method: int, level: AccessLevel) -> MethodAccess:
        """reply_to_HLS_authentication is open to whoever is associating; the rest is not granted."""
        return MethodAccess.ACCESS if method == REPLY_TO_HLS_AUTHENTICATION else MethodAccess.NO_ACCESS

    def invoke(self, method: int, parameters: Data | None, context: RequestContext) -> Data | None:
        """reply_to_HLS_authentication: octet-string in, octet-string out."""
        if method != REPLY_TO_HLS_AUTHENTICATION:
            return super().invoke(method, parameters, context)
        if (
            parameters is None
            or parameters.tag is not DataTag.OCTET_STRING
            or not isinstance(parameters.value, bytes)
        ):
            raise AccessFailureError(
                DataAccessResult.TYPE_UNMATCHED, "reply_to_HLS_authentication takes an octet-string"
            )
        if context.association is None:
            raise AccessFailureError(DataAccessResult.OBJECT_UNAVAILABLE, "no association")
        return Data.octet_string(context.association.reply_to_hls_authentication(parameters.value))


def _signed_long(value: int) -> int:
    """``base_name`` is a ``long`` (Integer16): names from 0x8000 go out negative."""
    return value - 0x10000 if value > 0x7FFF else value


class BaseNames:
    """Which object and attribute each variable name of the meter reaches."""

    def __init__(self, meter: SimulatedMeter) -> None:
        self.association: AssociationSN | None = None
        self._bases: list[tuple[int, CosemObject]] = []
        base = FIRST_BASE_NAME
        for obj in meter.objects.values():
            if isinstance(obj, AssociationLN):
                self.association = AssociationSN(obj.logical_name, self)
                self._bases.append((ASSOCIATION_SN_BASE_NAME, self.association))
                continue
            self._bases.append((base, obj))
            base += BASE_NAME_STEP
        self._bases.sort(key=lambda entry: entry[0])

    def base_name(self, obj: CosemObject) -> int | None:
        """The base name of an object of this view."""
        return next((base for base, candidate in self._bases if candidate is obj), None)

    def resolve(self, name: int) -> tuple[CosemObject, int] | None:
        """The object and attribute at variable name ``name``, or None when nothing is there."""
        for base, obj in self._bases:
            offset = name - base
            if 0 <= offset < ATTRIBUTE_NAME_STEP * obj.attribute_count:
                if offset % ATTRIBUTE_NAME_STEP:
                    return None
                return obj, offset // ATTRIBUTE_NAME_STEP + 1
        return None

    def resolve_method(self, name: int) -> tuple[CosemObject, int] | None:
        """The object and method at variable name ``name``, or None when no method is there."""
        for base, obj in self._bases:
            offset = name - base
            if 0 <= offset < BASE_NAME_STEP:
                method = method_of_name(obj.class_id, offset)
                if method is not None and method <= obj.method_count:
                    return obj, method
        return None

    def object_list(self, level: AccessLevel) -> Data:
        """``object_list``: ``{base_name, class_id, version, logical_name}`` per visible object."""
        return Data.array(
            *(
                Data.structure(
                    Data.long(_signed_long(base)),
                    Data.long_unsigned(obj.class_id),
                    Data.unsigned(obj.version),
                    Data.octet_string(obj.logical_name.to_bytes()),
                )
                for base, obj in self._bases
                if obj.visible_to(level)
            )
        )
