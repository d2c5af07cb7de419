"""The meter's firmware as the update entity shows it: identifiers, and the image transfer's progress.

Polled meters list their active firmware identifiers (Data objects C=0, D=2, E=0: 1.0.0.2.0.255 core,
1.1.0.2.0.255 module, ...) and, when they take firmware updates, an Image transfer object (class 18).
A meter with image transfer has them read at each poll in one GET-with-list (the status and the image
to activate with the identifiers), and the transferred-blocks bit-string only while blocks are being
sent; a meter without image transfer has its identifiers read once. Home Assistant only watches:
transfers are driven by the ``image-transfer`` command.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Final

from .dlms.axdr import BitString, Data
from .dlms.errors import DecodeError, ServiceError
from .dlms.image_transfer import (
    IMAGE_TRANSFER_CLASS_ID,
    ImageTransferAttribute,
    ImageTransferStatus,
    parse_images_to_activate,
)
from .dlms.obis import ObisCode
from .dlms.push.values import printable_text

if TYPE_CHECKING:
    from .dlms.client import DlmsClient
    from .dlms.client.objects import ObjectListEntry

DATA_CLASS_ID: Final = 1
CORE_FIRMWARE: Final = ObisCode(1, 0, 0, 2, 0, 255)
"""The active (core) firmware identifier of an electricity meter: the update entity's version."""

IN_PROGRESS: Final = frozenset(
    {
        ImageTransferStatus.INITIATED,
        ImageTransferStatus.VERIFICATION_INITIATED,
        ImageTransferStatus.ACTIVATION_INITIATED,
    }
)
WAITING_FOR_ACTIVATION: Final = frozenset(
    {ImageTransferStatus.VERIFICATION_SUCCESSFUL, ImageTransferStatus.ACTIVATION_INITIATED}
)


def is_firmware_identifier(obis: ObisCode) -> bool:
    """Active firmware identifiers: C=0, D=2, E=0 (E=8 are their signatures)."""
    return obis.c == 0 and obis.d == 2 and obis.e == 0


@dataclass(frozen=True, slots=True)
class FirmwareObjects:
    """Which firmware objects the meter lists."""

    identifiers: tuple[ObisCode, ...] = ()
    image_transfer: ObisCode | None = None

    @classmethod
    def from_object_list(cls, entries: Iterable[ObjectListEntry]) -> FirmwareObjects:
        """The identifiers (class 1) and the first image transfer object (class 18) listed."""
        identifiers: list[ObisCode] = []
        image_transfer = None
        for entry in entries:
            if entry.class_id == DATA_CLASS_ID and is_firmware_identifier(entry.obis):
                identifiers.append(entry.obis)
            elif entry.class_id == IMAGE_TRANSFER_CLASS_ID and image_transfer is None:
                image_transfer = entry.obis
        return cls(tuple(sorted(identifiers, key=str)), image_transfer)

    def __bool__(self) -> bool:
        return bool(self.identifiers) or self.image_transfer is not None


@dataclass(frozen=True, slots=True)
class FirmwareState:
    """What the update entity shows."""

    identifiers: dict[str, str] = field(default_factory=dict)
    """Active firmware identifiers by OBIS code, as text."""
    status: ImageTransferStatus | None = None
    blocks_transferred: int | None = None
    blocks_total: int | None = None
    image_to_activate: str | None = None
    """The identification of the verified image waiting for activation."""

    @property
    def installed(self) -> str | None:
        """The core identifier, else the first one listed."""
        return self.identifiers.get(str(CORE_FIRMWARE)) or next(iter(self.identifiers.values()), None)

    @property
    def in_progress(self) -> bool:
        """A transfer, verification or activation is running."""
        return self.status in IN_PROGRESS

    @property
    def percentage(self) -> int | None:
        """Blocks transferred in percent while blocks are being sent; None otherwise."""
        if self.status is not ImageTransferStatus.INITIATED or not self.blocks_total:
            return None
        return int(100 * (self.blocks_transferred or 0) / self.blocks_total)


def _text(value: Data | Exception) -> str | None:
    """An identifier as text: printable octet-strings as they read (never as a date-time), else hex."""
    if not isinstance(value, Data) or value.value is None:
        return None
    if isinstance(value.value, bytes):
        return printable_text(value.value) or value.value.hex().upper()
    return str(value.value).rstrip("\x00")


async def read_firmware(client: DlmsClient, objects: FirmwareObjects) -> FirmwareState:
    """Read the identifiers and the image transfer status; ServiceError and DecodeError pass."""
    refs = [(obis, DATA_CLASS_ID, 2) for obis in objects.identifiers]
    transfer = objects.image_transfer
    if transfer is not None:
        refs += [
            (transfer, IMAGE_TRANSFER_CLASS_ID, ImageTransferAttribute.IMAGE_TRANSFER_STATUS),
            (transfer, IMAGE_TRANSFER_CLASS_ID, ImageTransferAttribute.IMAGE_TO_ACTIVATE_INFO),
        ]
    values = await client.get_many(refs) if refs else []
    identifiers: dict[str, str] = {}
    for obis, value in zip(objects.identifiers, values, strict=False):
        text = _text(value)
        if text is not None:
            identifiers[str(obis)] = text
    if transfer is None:
        return FirmwareState(identifiers)
    status_value, images_value = values[-2], values[-1]
    if not isinstance(status_value, Data):
        return FirmwareState(identifiers)  # the meter does not say: no status shown
    try:
        status = ImageTransferStatus(int(status_value.value))  # type: ignore[arg-type]
    except TypeError, ValueError:
        raise DecodeError(f"unknown image_transfer_status {status_value.value!r}") from None
    to_activate = None
    if status in WAITING_FOR_ACTIVATION and isinstance(images_value, Data):
        images = parse_images_to_activate(images_value)
        if images:
            identification = images[0].identification
            to_activate = printable_text(identification) or identification.hex().upper()
    transferred = total = None
    if status is ImageTransferStatus.INITIATED:
        try:
            bits = await client.get(
                transfer, IMAGE_TRANSFER_CLASS_ID, ImageTransferAttribute.IMAGE_TRANSFERRED_BLOCKS_STATUS
            )
        except ServiceError:
            bits = None
        if bits is not None and isinstance(bits.value, BitString):
            transferred, total = sum(bits.value.bits), bits.value.length
    return FirmwareState(identifiers, status, transferred, total, to_activate)
