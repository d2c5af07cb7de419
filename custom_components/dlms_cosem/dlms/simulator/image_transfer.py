"""Image transfer (class 18) on the simulated meter, with the firmware identifiers it replaces.

:func:`add_image_transfer` gives a meter the image transfer object (0.0.44.0.0.255) and its active
firmware identifiers (1.0.0.2.0.255 core, 1.1.0.2.0.255 module) and signature (1.0.0.2.8.255). A
transfer runs as on a meter: initiate, blocks of ``image_block_size``, the transferred-blocks bit
string, verify (the image must be complete), activate (the core identifier becomes the image's).

:class:`ImageFaults` makes it go wrong on purpose: ``lose_blocks`` are acknowledged but not kept (the
client must find them missing and send them again; each is lost once), ``fail_verification`` makes
verify fail, and ``verification_reads`` keeps the status at "verification initiated" for that many
status reads, with verify answered ``temporary-failure``, as a meter still checking a signature;
``hold_verification`` keeps it there until a test clears it.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

from ..apdu import DataAccessResult
from ..axdr import Data, DataTag
from ..image_transfer import (
    IMAGE_TRANSFER,
    IMAGE_TRANSFER_CLASS_ID,
    ImageTransferAttribute,
    ImageTransferMethod,
    ImageTransferStatus,
    block_count,
)
from ..obis import ObisCode
from .access import AccessFailureError, MethodAccess, RequestContext
from .interface_classes import CosemObject, DataObject

if TYPE_CHECKING:
    from .model import SimulatedMeter

ACTIVE_FIRMWARE_IDENTIFIER = ObisCode(1, 0, 0, 2, 0, 255)
"""Active firmware identifier (core), the one a transfer replaces."""
ACTIVE_MODULE_FIRMWARE_IDENTIFIER = ObisCode(1, 1, 0, 2, 0, 255)
ACTIVE_FIRMWARE_SIGNATURE = ObisCode(1, 0, 0, 2, 8, 255)
DEFAULT_IMAGE_BLOCK_SIZE = 192
MAX_IMAGE_SIZE = 4 * 1024 * 1024
"""Images above this are refused at initiate, as a meter without room for them does."""


@dataclass(slots=True)
class ImageFaults:
    """Faults of the simulated image transfer (see the module docstring)."""

    lose_blocks: set[int] = field(default_factory=set)
    fail_verification: bool = False
    verification_reads: int = 0
    hold_verification: bool = False


def _signature(image: bytes) -> bytes:
    return hashlib.sha256(image).digest()


class ImageTransfer(CosemObject):
    """Image transfer (class 18, version 0): the whole process, state kept across associations."""

    class_id = IMAGE_TRANSFER_CLASS_ID
    attribute_count = 7
    method_count = 4

    def __init__(
        self,
        meter: SimulatedMeter,
        *,
        logical_name: ObisCode = IMAGE_TRANSFER,
        block_size: int = DEFAULT_IMAGE_BLOCK_SIZE,
        faults: ImageFaults | None = None,
    ) -> None:
        super().__init__(logical_name, methods=dict.fromkeys(range(1, 5), MethodAccess.ACCESS), public=True)
        self._meter = meter
        self.block_size = block_size
        self.faults = faults or ImageFaults()
        self.enabled = True
        self.status = ImageTransferStatus.NOT_INITIATED
        self.identifier = b""
        self.size = 0
        self.blocks: dict[int, bytes] = {}
        self.activated: list[bytes] = []
        """Identifiers activated, in order."""
        self._pending_reads = 0

    @property
    def block_total(self) -> int:
        """Blocks of the image being transferred."""
        return block_count(self.size, self.block_size) if self.size else 0

    def image(self) -> bytes:
        """The image as received (blocks in order; missing blocks leave it short)."""
        return b"".join(self.blocks[number] for number in sorted(self.blocks))

    def _complete(self) -> bool:
        return len(self.blocks) == self.block_total and len(self.image()) == self.size

    def _get(self, attribute: int, context: RequestContext) -> Data:
        match attribute:
            case ImageTransferAttribute.IMAGE_BLOCK_SIZE:
                return Data.double_long_unsigned(self.block_size)
            case ImageTransferAttribute.IMAGE_TRANSFERRED_BLOCKS_STATUS:
                return Data.bit_string(number in self.blocks for number in range(self.block_total))
            case ImageTransferAttribute.IMAGE_FIRST_NOT_TRANSFERRED_BLOCK_NUMBER:
                missing = (number for number in range(self.block_total) if number not in self.blocks)
                return Data.double_long_unsigned(next(missing, self.block_total))
            case ImageTransferAttribute.IMAGE_TRANSFER_ENABLED:
                return Data.boolean(self.enabled)
            case ImageTransferAttribute.IMAGE_TRANSFER_STATUS:
                self._settle()
                return Data.enum(self.status)
            case ImageTransferAttribute.IMAGE_TO_ACTIVATE_INFO:
                if self.status not in _VERIFIED:
                    return Data.array()
                return Data.array(
                    Data.structure(
                        Data.double_long_unsigned(self.size),
                        Data.octet_string(self.identifier),
                        Data.octet_string(_signature(self.image())),
                    )
                )
        raise AccessFailureError(DataAccessResult.OBJECT_UNDEFINED)

    def invoke(self, method: int, parameters: Data | None, context: RequestContext) -> Data | None:
        """Run one step of the process; refusals are Action-Results, as a meter gives them."""
        if not self.enabled:
            raise AccessFailureError(DataAccessResult.OBJECT_UNAVAILABLE, "image transfer disabled")
        match method:
            case ImageTransferMethod.IMAGE_TRANSFER_INITIATE:
                self._initiate(parameters)
            case ImageTransferMethod.IMAGE_BLOCK_TRANSFER:
                self._block(parameters)
            case ImageTransferMethod.IMAGE_VERIFY:
                self._verify()
            case ImageTransferMethod.IMAGE_ACTIVATE:
                self._activate()
            case _:
                raise AccessFailureError(DataAccessResult.OBJECT_UNDEFINED)
        return None

    def _initiate(self, parameters: Data | None) -> None:
        members = _members(parameters, 2)
        identifier, size = members[0].value, members[1].value
        if not isinstance(identifier, bytes) or not isinstance(size, int) or isinstance(size, bool):
            raise AccessFailureError(DataAccessResult.TYPE_UNMATCHED, "initiate takes {octet-string, size}")
        if not 0 < size <= MAX_IMAGE_SIZE:
            raise AccessFailureError(DataAccessResult.OTHER_REASON, "image size out of range")
        self.identifier, self.size, self.blocks = identifier, size, {}
        self.status = ImageTransferStatus.INITIATED

    def _block(self, parameters: Data | None) -> None:
        if self.status is not ImageTransferStatus.INITIATED:
            raise AccessFailureError(DataAccessResult.TEMPORARY_FAILURE, "no transfer initiated")
        members = _members(parameters, 2)
        number, value = members[0].value, members[1].value
        if not isinstance(number, int) or isinstance(number, bool) or not isinstance(value, bytes):
            raise AccessFailureError(DataAccessResult.TYPE_UNMATCHED, "a block is {number, octet-string}")
        expected = min(self.block_size, self.size - number * self.block_size)
        if not 0 <= number < self.block_total or len(value) != expected:
            raise AccessFailureError(DataAccessResult.OTHER_REASON, "block number or length out of range")
        if number in self.faults.lose_blocks:
            self.faults.lose_blocks.discard(number)  # acknowledged, never stored; lost once
            return
        self.blocks[number] = value

    def _verify(self) -> None:
        if self.status not in (ImageTransferStatus.INITIATED, ImageTransferStatus.VERIFICATION_FAILED):
            raise AccessFailureError(DataAccessResult.TEMPORARY_FAILURE, "nothing to verify")
        if self.faults.verification_reads or self.faults.hold_verification:
            self.status = ImageTransferStatus.VERIFICATION_INITIATED
            self._pending_reads = self.faults.verification_reads
            raise AccessFailureError(DataAccessResult.TEMPORARY_FAILURE, "verification in progress")
        self._conclude_verification()
        if self.status is ImageTransferStatus.VERIFICATION_FAILED:
            raise AccessFailureError(DataAccessResult.OTHER_REASON, "image verification failed")

    def _conclude_verification(self) -> None:
        good = self._complete() and not self.faults.fail_verification
        self.status = (
            ImageTransferStatus.VERIFICATION_SUCCESSFUL if good else ImageTransferStatus.VERIFICATION_FAILED
        )

    def _settle(self) -> None:
        """A status read while verifying: the meter finishes after ``verification_reads`` of them."""
        if self.status is ImageTransferStatus.VERIFICATION_INITIATED and not self.faults.hold_verification:
            self._pending_reads -= 1
            if self._pending_reads <= 0:
                self._conclude_verification()

    def _activate(self) -> None:
        if self.status is not ImageTransferStatus.VERIFICATION_SUCCESSFUL:
            raise AccessFailureError(DataAccessResult.TEMPORARY_FAILURE, "no verified image to activate")
        image = self.image()
        self._meter.add(DataObject(ACTIVE_FIRMWARE_IDENTIFIER, Data.octet_string(self.identifier)))
        self._meter.add(DataObject(ACTIVE_FIRMWARE_SIGNATURE, Data.octet_string(_signature(image))))
        self.activated.append(self.identifier)
        self.status = ImageTransferStatus.ACTIVATION_SUCCESSFUL


_VERIFIED = frozenset(
    {
        ImageTransferStatus.VERIFICATION_SUCCESSFUL,
        ImageTransferStatus.ACTIVATION_INITIATED,
        ImageTransferStatus.ACTIVATION_SUCCESSFUL,
        ImageTransferStatus.ACTIVATION_FAILED,
    }
)


def _members(parameters: Data | None, count: int) -> tuple[Data, ...]:
    if (
        parameters is None
        or parameters.tag is not DataTag.STRUCTURE
        or not isinstance(parameters.value, tuple)
    ):
        raise AccessFailureError(DataAccessResult.TYPE_UNMATCHED, "parameters must be a structure")
    if len(parameters.value) != count:
        raise AccessFailureError(DataAccessResult.TYPE_UNMATCHED, f"a structure of {count} is expected")
    return parameters.value


def add_image_transfer(
    meter: SimulatedMeter,
    *,
    firmware: bytes = b"SIM-FW-1.0.0",
    module_firmware: bytes = b"SIM-MOD-2.1",
    block_size: int = DEFAULT_IMAGE_BLOCK_SIZE,
    faults: ImageFaults | None = None,
) -> ImageTransfer:
    """Give ``meter`` the image transfer object and firmware identifiers; the object is returned."""
    meter.add(DataObject(ACTIVE_FIRMWARE_IDENTIFIER, Data.octet_string(firmware)))
    meter.add(DataObject(ACTIVE_MODULE_FIRMWARE_IDENTIFIER, Data.octet_string(module_firmware)))
    meter.add(DataObject(ACTIVE_FIRMWARE_SIGNATURE, Data.octet_string(_signature(firmware))))
    transfer = ImageTransfer(meter, block_size=block_size, faults=faults)
    meter.add(transfer)
    return transfer
