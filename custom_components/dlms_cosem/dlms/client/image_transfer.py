"""The image transfer process (Blue Book 4.4.6.4) driven through a :class:`DlmsClient`.

:func:`transfer_image` runs the whole process: check that transfer is enabled, read the meter's block
size, initiate, send every block, ask which blocks are missing and send them again (a bounded number of
rounds), verify, and activate. A meter may answer verify or activate with an error while it is still
working (``temporary-failure``): the status attribute then tells, and is polled until it settles.
A failed verification or activation is a typed error, never reported as success.

Home Assistant never calls this; the ``image-transfer`` command does.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

from ..axdr import BitString, Data, DataTag
from ..errors import DecodeError, ServiceError
from ..image_transfer import (
    IMAGE_TRANSFER,
    IMAGE_TRANSFER_CLASS_ID,
    ImageActivationFailedError,
    ImageToActivate,
    ImageTransferAttribute,
    ImageTransferError,
    ImageTransferMethod,
    ImageTransferStatus,
    ImageVerificationFailedError,
    block_count,
    parse_images_to_activate,
)
from ..obis import ObisCode

if TYPE_CHECKING:
    from .client import DlmsClient

_LOGGER = logging.getLogger(__name__)

DEFAULT_MISSING_BLOCK_ROUNDS = 3
"""Times missing blocks are sent again before the transfer is given up."""
_BLOCK_TRANSFER_OVERHEAD = 24
"""Bytes of a plain image_block_transfer ACTION-Request around the block (header, method, structure);
ciphering adds about 20 more, which a meter that counts them refuses as pdu-too-long (a ServiceError)."""
DEFAULT_STATUS_POLL_INTERVAL = 1.0
DEFAULT_STATUS_TIMEOUT = 120.0
"""Seconds a meter may take to verify or activate an image."""


@dataclass(frozen=True, slots=True)
class ImageTransferState:
    """What the meter's image transfer object says (attributes 2 to 7)."""

    block_size: int
    transferred_blocks: tuple[bool, ...]
    first_not_transferred_block: int
    enabled: bool
    status: ImageTransferStatus
    images_to_activate: tuple[ImageToActivate, ...]

    @property
    def blocks_transferred(self) -> int:
        """Blocks the meter has of the image being transferred."""
        return sum(self.transferred_blocks)


@dataclass(frozen=True, slots=True)
class ImageProgress:
    """One step of a transfer, for a progress display: the stage and the blocks sent so far."""

    stage: str
    blocks_sent: int
    blocks_total: int


@dataclass(slots=True)
class ImageTransferReport:
    """How the transfer went."""

    block_size: int = 0
    blocks: int = 0
    blocks_resent: list[int] = field(default_factory=list)
    status: ImageTransferStatus = ImageTransferStatus.NOT_INITIATED
    images_to_activate: tuple[ImageToActivate, ...] = ()
    activated: bool = False


def _int(value: Data, what: str) -> int:
    if isinstance(value.value, bool) or not isinstance(value.value, int):
        raise DecodeError(f"{what} is not an integer")
    return value.value


def _status(value: Data) -> ImageTransferStatus:
    number = _int(value, "image_transfer_status")
    try:
        return ImageTransferStatus(number)
    except ValueError:
        raise DecodeError(f"unknown image_transfer_status {number}") from None


async def read_image_transfer_state(
    client: DlmsClient, obis: ObisCode = IMAGE_TRANSFER
) -> ImageTransferState:
    """Attributes 2 to 7 of the image transfer object, one GET each (some meters refuse lists here)."""

    async def get(attribute: ImageTransferAttribute) -> Data:
        return await client.get(obis, IMAGE_TRANSFER_CLASS_ID, attribute)

    block_size = _int(await get(ImageTransferAttribute.IMAGE_BLOCK_SIZE), "image_block_size")
    bits = await get(ImageTransferAttribute.IMAGE_TRANSFERRED_BLOCKS_STATUS)
    if not isinstance(bits.value, BitString):
        raise DecodeError("image_transferred_blocks_status is not a bit-string")
    first = _int(
        await get(ImageTransferAttribute.IMAGE_FIRST_NOT_TRANSFERRED_BLOCK_NUMBER),
        "image_first_not_transferred_block_number",
    )
    enabled = await get(ImageTransferAttribute.IMAGE_TRANSFER_ENABLED)
    if enabled.tag is not DataTag.BOOLEAN:
        raise DecodeError("image_transfer_enabled is not a boolean")
    status = _status(await get(ImageTransferAttribute.IMAGE_TRANSFER_STATUS))
    images = parse_images_to_activate(await get(ImageTransferAttribute.IMAGE_TO_ACTIVATE_INFO))
    return ImageTransferState(block_size, bits.value.bits, first, bool(enabled.value), status, tuple(images))


async def transfer_image(
    client: DlmsClient,
    image: bytes,
    identifier: bytes,
    *,
    obis: ObisCode = IMAGE_TRANSFER,
    activate: bool = True,
    progress: Callable[[ImageProgress], None] | None = None,
    missing_block_rounds: int = DEFAULT_MISSING_BLOCK_ROUNDS,
    status_poll_interval: float = DEFAULT_STATUS_POLL_INTERVAL,
    status_timeout: float = DEFAULT_STATUS_TIMEOUT,
) -> ImageTransferReport:
    """Transfer ``image`` as ``identifier``, verify it and (unless ``activate`` is False) activate it.

    Raises ImageTransferError (disabled, blocks still missing after the rounds, a stalled meter),
    ImageVerificationFailedError or ImageActivationFailedError, or the client's errors.
    """
    if not image:
        raise ImageTransferError("the image is empty")
    report = ImageTransferReport()

    def tell(stage: str, sent: int) -> None:
        if progress is not None:
            progress(ImageProgress(stage, sent, report.blocks))

    async def method(number: ImageTransferMethod, parameters: Data) -> None:
        await client.action(obis, IMAGE_TRANSFER_CLASS_ID, number, parameters)

    async def get(attribute: ImageTransferAttribute) -> Data:
        return await client.get(obis, IMAGE_TRANSFER_CLASS_ID, attribute)

    enabled = await get(ImageTransferAttribute.IMAGE_TRANSFER_ENABLED)
    if enabled.value is not True:
        raise ImageTransferError(f"image transfer is not enabled in {obis}")
    block_size = _int(await get(ImageTransferAttribute.IMAGE_BLOCK_SIZE), "image_block_size")
    if block_size <= 0:
        raise ImageTransferError(f"the meter's image_block_size is {block_size}")
    context = client.context
    if context is not None and block_size + _BLOCK_TRANSFER_OVERHEAD > context.server_max_pdu_size:
        # ACTION with the parameters in blocks is not implemented: the request must fit one APDU.
        limit = context.server_max_pdu_size
        raise ImageTransferError(
            f"the meter's image_block_size {block_size} does not fit its PDU size {limit}"
        )
    report.block_size = block_size
    report.blocks = block_count(len(image), block_size)

    await method(
        ImageTransferMethod.IMAGE_TRANSFER_INITIATE,
        Data.structure(Data.octet_string(identifier), Data.double_long_unsigned(len(image))),
    )
    report.status = ImageTransferStatus.INITIATED
    tell("initiated", 0)

    async def send(number: int) -> None:
        block = image[number * block_size : (number + 1) * block_size]
        await method(
            ImageTransferMethod.IMAGE_BLOCK_TRANSFER,
            Data.structure(Data.double_long_unsigned(number), Data.octet_string(block)),
        )

    for number in range(report.blocks):
        await send(number)
        tell("transferring", number + 1)

    for _ in range(missing_block_rounds + 1):
        missing = await _missing_blocks(client, obis, report.blocks)
        if not missing:
            break
        _LOGGER.info("The meter misses %d image blocks; sending them again", len(missing))
        for number in missing:
            await send(number)
            report.blocks_resent.append(number)
            tell("resending", report.blocks - len(missing))
    else:
        raise ImageTransferError(f"blocks still missing after {missing_block_rounds} rounds: {missing[:10]}")

    tell("verifying", report.blocks)
    report.status = await _run_step(
        client,
        obis,
        ImageTransferMethod.IMAGE_VERIFY,
        waiting=ImageTransferStatus.VERIFICATION_INITIATED,
        poll_interval=status_poll_interval,
        settle_within=status_timeout,
    )
    if report.status is not ImageTransferStatus.VERIFICATION_SUCCESSFUL:
        raise ImageVerificationFailedError(f"the meter did not verify the image ({report.status.text})")
    report.images_to_activate = tuple(
        parse_images_to_activate(await get(ImageTransferAttribute.IMAGE_TO_ACTIVATE_INFO))
    )
    if not activate:
        return report

    tell("activating", report.blocks)
    report.status = await _run_step(
        client,
        obis,
        ImageTransferMethod.IMAGE_ACTIVATE,
        waiting=ImageTransferStatus.ACTIVATION_INITIATED,
        poll_interval=status_poll_interval,
        settle_within=status_timeout,
    )
    if report.status is not ImageTransferStatus.ACTIVATION_SUCCESSFUL:
        raise ImageActivationFailedError(f"the meter did not activate the image ({report.status.text})")
    report.activated = True
    tell("activated", report.blocks)
    return report


async def _missing_blocks(client: DlmsClient, obis: ObisCode, blocks: int) -> list[int]:
    """Blocks the meter reports missing: from the bit-string, else from the first not transferred."""
    try:
        bits = await client.get(
            obis, IMAGE_TRANSFER_CLASS_ID, ImageTransferAttribute.IMAGE_TRANSFERRED_BLOCKS_STATUS
        )
    except ServiceError:
        bits = None
    if bits is not None and isinstance(bits.value, BitString):
        flags = bits.value.bits
        return [number for number in range(blocks) if number >= len(flags) or not flags[number]]
    first = _int(
        await client.get(
            obis, IMAGE_TRANSFER_CLASS_ID, ImageTransferAttribute.IMAGE_FIRST_NOT_TRANSFERRED_BLOCK_NUMBER
        ),
        "image_first_not_transferred_block_number",
    )
    return list(range(first, blocks))


async def _run_step(
    client: DlmsClient,
    obis: ObisCode,
    number: ImageTransferMethod,
    *,
    waiting: ImageTransferStatus,
    poll_interval: float,
    settle_within: float,
) -> ImageTransferStatus:
    """Invoke verify or activate; the status it settles on (polled while the meter is still at it)."""
    try:
        await client.action(obis, IMAGE_TRANSFER_CLASS_ID, number, Data.integer(0))
    except ServiceError as err:
        # temporary-failure (still working) or a refusal: the status attribute tells which.
        _LOGGER.debug("%s answered %s; reading the status", number.name.lower(), err)
    loop = asyncio.get_running_loop()
    deadline = loop.time() + settle_within
    while True:
        status = _status(
            await client.get(obis, IMAGE_TRANSFER_CLASS_ID, ImageTransferAttribute.IMAGE_TRANSFER_STATUS)
        )
        if status is not waiting:
            return status
        if loop.time() >= deadline:
            raise ImageTransferError(f"the meter is still at {status.text} after {settle_within} s")
        await asyncio.sleep(poll_interval)
