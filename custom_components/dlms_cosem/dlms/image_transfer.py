"""Image transfer (interface class 18, Blue Book 4.4.6): the names both ends of a firmware update use.

The meter publishes one Image transfer object (0.0.44.0.0.255). A client initiates a transfer with the
image's identifier and size, sends the image in blocks of the meter's ``image_block_size``, asks which
blocks did not arrive (``image_transferred_blocks_status``, ``image_first_not_transferred_block_number``),
sends those again, then has the meter verify and activate the image. ``image_transfer_status`` follows
the process; ``image_to_activate_info`` names what the meter would activate.
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import IntEnum
from typing import Final

from .axdr import Data, DataTag
from .errors import DecodeError, ServiceError
from .obis import ObisCode

IMAGE_TRANSFER_CLASS_ID: Final = 18
IMAGE_TRANSFER: Final = ObisCode(0, 0, 44, 0, 0, 255)
"""The image transfer object's logical name (Blue Book 7.4.1: A=0, C=44, D=0)."""


class ImageTransferAttribute(IntEnum):
    """Attributes of class 18, version 0."""

    LOGICAL_NAME = 1
    IMAGE_BLOCK_SIZE = 2
    IMAGE_TRANSFERRED_BLOCKS_STATUS = 3
    IMAGE_FIRST_NOT_TRANSFERRED_BLOCK_NUMBER = 4
    IMAGE_TRANSFER_ENABLED = 5
    IMAGE_TRANSFER_STATUS = 6
    IMAGE_TO_ACTIVATE_INFO = 7


class ImageTransferMethod(IntEnum):
    """Methods of class 18, version 0."""

    IMAGE_TRANSFER_INITIATE = 1
    IMAGE_BLOCK_TRANSFER = 2
    IMAGE_VERIFY = 3
    IMAGE_ACTIVATE = 4


class ImageTransferStatus(IntEnum):
    """``image_transfer_status`` (attribute 6)."""

    NOT_INITIATED = 0
    INITIATED = 1
    VERIFICATION_INITIATED = 2
    VERIFICATION_SUCCESSFUL = 3
    VERIFICATION_FAILED = 4
    ACTIVATION_INITIATED = 5
    ACTIVATION_SUCCESSFUL = 6
    ACTIVATION_FAILED = 7

    @property
    def text(self) -> str:
        """The status as the standard words it, lower case with underscores (a translation key)."""
        return self.name.lower()


class ImageTransferError(ServiceError):
    """The image transfer could not be completed (disabled, blocks that never arrive, a meter that stalls)."""


class ImageVerificationFailedError(ImageTransferError):
    """The meter verified the image and found it bad (``image_transfer_status`` 4)."""


class ImageActivationFailedError(ImageTransferError):
    """The meter could not activate the verified image (``image_transfer_status`` 7)."""


@dataclass(frozen=True, slots=True)
class ImageToActivate:
    """One entry of ``image_to_activate_info``: what the meter would activate."""

    size: int
    identification: bytes
    signature: bytes


def parse_images_to_activate(value: Data) -> list[ImageToActivate]:
    """``image_to_activate_info``: an array of structures {size, identification, signature}."""
    if value.tag is not DataTag.ARRAY or not isinstance(value.value, tuple):
        raise DecodeError("image_to_activate_info is not an array")
    images = []
    for item in value.value:
        members = item.value if item.tag is DataTag.STRUCTURE else None
        if not isinstance(members, tuple) or len(members) != 3:
            raise DecodeError("image_to_activate_info entries are structures of three members")
        size, identification, signature = members
        if not isinstance(size.value, int) or isinstance(size.value, bool):
            raise DecodeError("image_to_activate_size is not an integer")
        if not isinstance(identification.value, bytes) or not isinstance(signature.value, bytes):
            raise DecodeError("image_to_activate identification and signature are octet-strings")
        images.append(ImageToActivate(size.value, identification.value, signature.value))
    return images


def block_count(image_size: int, block_size: int) -> int:
    """Blocks an image of ``image_size`` bytes takes (the last one may be short)."""
    return -(-image_size // block_size)
