"""Block transfer: General Block Transfer (GBT) and the GET service's own datablocks.

Both reassemblers are sans-I/O: the caller adds each received APDU and gets ``None`` until the
transfer is complete. Blocks must arrive in order without gaps (the standard numbers them from 1);
anything else, and a total above ``max_size``, raises :class:`DecodeError` so a confused or hostile
peer can neither corrupt the result silently nor make the client buffer without limit. Recovery of
lost GBT blocks (asking for a retransmission) is left to the session layer.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING, ClassVar, Self

from ..axdr import Data, decode_data_bytes
from ..errors import DecodeError, EncodeError
from ..reader import ByteReader
from .common import InvokeIdAndPriority, check_range, encode_octet_string, finish, read_octet_string
from .tags import ApduTag

if TYPE_CHECKING:
    # The GET datablock reassemblers are the client's; GET is imported when they work, so the push
    # path (General Block Transfer) does not load it (import time).
    from .get import GetDataResult, GetRequestNext, GetResponseWithDatablock
    from .service_errors import DataAccessResult

#: Largest reassembled APDU or value accepted by default (a long load profile fits comfortably).
DEFAULT_MAX_REASSEMBLED_SIZE = 4 * 1024 * 1024

_LAST_BLOCK = 0x80
_STREAMING = 0x40
_WINDOW_MASK = 0x3F


@dataclass(frozen=True, slots=True)
class GeneralBlockTransfer:
    """``General-Block-Transfer`` (tag 0xE0): one block of a longer APDU.

    ``block_number_ack`` acknowledges the peer's blocks; ``window`` is how many blocks the sender can
    receive before it must acknowledge; ``streaming`` says more blocks follow without waiting.
    """

    block_number: int
    block_data: bytes
    last_block: bool = True
    streaming: bool = False
    window: int = 1
    block_number_ack: int = 0

    TAG: ClassVar[ApduTag] = ApduTag.GENERAL_BLOCK_TRANSFER

    def __post_init__(self) -> None:
        check_range(self.block_number, 0, 0xFFFF, "block number")
        check_range(self.block_number_ack, 0, 0xFFFF, "block number ack")
        check_range(self.window, 0, _WINDOW_MASK, "window")

    @property
    def block_control(self) -> int:
        """The block-control byte."""
        return (_LAST_BLOCK if self.last_block else 0) | (_STREAMING if self.streaming else 0) | self.window

    def encode(self) -> bytes:
        """The APDU bytes."""
        return (
            bytes([self.TAG, self.block_control])
            + self.block_number.to_bytes(2, "big")
            + self.block_number_ack.to_bytes(2, "big")
            + encode_octet_string(self.block_data)
        )

    @classmethod
    def decode(cls, raw: bytes) -> Self:
        """Parse a whole General-Block-Transfer APDU."""
        reader = ByteReader(raw)
        block = cls.read(reader)
        finish(reader, "general-block-transfer")
        return block

    @classmethod
    def read(cls, reader: ByteReader) -> Self:
        """Read one General-Block-Transfer APDU, leaving what follows it."""
        if reader.u8("tag") != cls.TAG:
            raise DecodeError("not a general-block-transfer")
        control = reader.u8("block-control")
        block_number = reader.u16("block number")
        block_number_ack = reader.u16("block number ack")
        data = read_octet_string(reader, "block-data")
        return cls(
            block_number=block_number,
            block_data=data,
            last_block=bool(control & _LAST_BLOCK),
            streaming=bool(control & _STREAMING),
            window=control & _WINDOW_MASK,
            block_number_ack=block_number_ack,
        )


def split_general_block_transfer(
    apdu: bytes, block_size: int, *, first_block_number: int = 1, window: int = 1, block_number_ack: int = 0
) -> tuple[GeneralBlockTransfer, ...]:
    """Cut an encoded APDU into GBT blocks of at most ``block_size`` data bytes, numbered from 1."""
    if block_size < 1:
        raise EncodeError("block size must be at least 1")
    chunks = [apdu[start : start + block_size] for start in range(0, len(apdu), block_size)] or [b""]
    return tuple(
        GeneralBlockTransfer(
            block_number=first_block_number + index,
            block_data=chunk,
            last_block=index == len(chunks) - 1,
            window=window,
            block_number_ack=block_number_ack,
        )
        for index, chunk in enumerate(chunks)
    )


class _BlockCollector:
    """Joins numbered blocks that must arrive in order, up to a size bound."""

    __slots__ = ("_chunks", "_expected", "_first", "_max_size", "_size")

    def __init__(self, max_size: int, first_block_number: int) -> None:
        if max_size < 0:
            raise EncodeError("max_size must not be negative")
        self._max_size = max_size
        self._first = first_block_number
        self._chunks: list[bytes] = []
        self._size = 0
        self._expected = first_block_number

    @property
    def expected_block_number(self) -> int:
        """The block number the next block must carry."""
        return self._expected

    @property
    def in_progress(self) -> bool:
        """Whether blocks have arrived and the last one has not."""
        return self._expected != self._first

    def reset(self) -> None:
        """Forget a partial transfer (after an abort or a new request)."""
        self._chunks = []
        self._size = 0
        self._expected = self._first

    def _add(self, block_number: int, data: bytes, last: bool) -> bytes | None:
        if block_number != self._expected:
            expected = self._expected
            self.reset()
            raise DecodeError(f"block {block_number} out of sequence, expected block {expected}")
        if self._size + len(data) > self._max_size:
            self.reset()
            raise DecodeError(f"reassembled data would exceed {self._max_size} bytes")
        self._chunks.append(data)
        self._size += len(data)
        self._expected += 1
        if not last:
            return None
        joined = b"".join(self._chunks)
        self.reset()
        return joined


class GeneralBlockTransferReassembler(_BlockCollector):
    """Collects GBT blocks and returns the inner APDU bytes when the last block arrives.

    The inner APDU may be ciphered, so bytes are returned; pass them to ``decode_apdu`` or to
    ``dlms.security``.
    """

    __slots__ = ()

    def __init__(self, max_size: int = DEFAULT_MAX_REASSEMBLED_SIZE) -> None:
        super().__init__(max_size, 1)

    def add(self, block: GeneralBlockTransfer) -> bytes | None:
        """Add one block; the full APDU when it was the last, else ``None``."""
        return self._add(block.block_number, block.block_data, block.last_block)


class _GetDatablockCollector(_BlockCollector):
    __slots__ = ("_invoke",)

    def __init__(self, max_size: int, first_block_number: int) -> None:
        super().__init__(max_size, first_block_number)
        self._invoke: InvokeIdAndPriority | None = None

    def next_request(self) -> GetRequestNext:
        """The Get-Request-Next that acknowledges the last block and asks for the following one."""
        if self._invoke is None or not self.in_progress:
            raise EncodeError("no datablock transfer in progress")
        from .get import GetRequestNext  # noqa: PLC0415 - loaded on first use (import time)

        return GetRequestNext(self.expected_block_number - 1, self._invoke)

    def _add_response(self, response: GetResponseWithDatablock) -> bytes | DataAccessResult | None:
        self._invoke = response.invoke_id_and_priority
        if not isinstance(response.raw_data, bytes):  # a DataAccessResult: the server aborted
            self.reset()
            return response.raw_data
        return self._add(response.block_number, response.raw_data, response.last_block)


class GetDatablockReassembler(_GetDatablockCollector):
    """Joins the datablocks of a GET-normal answer and decodes the value.

    :meth:`add` returns ``None`` while more blocks are needed (send :meth:`next_request`), the
    decoded :class:`Data` after the last block, or the data-access-result when the server aborted.
    """

    __slots__ = ()

    def __init__(self, max_size: int = DEFAULT_MAX_REASSEMBLED_SIZE, *, first_block_number: int = 1) -> None:
        super().__init__(max_size, first_block_number)

    def add(self, response: GetResponseWithDatablock) -> Data | DataAccessResult | None:
        """Add one Get-Response-With-Datablock."""
        joined = self._add_response(response)
        if not isinstance(joined, bytes):
            return joined
        return decode_data_bytes(joined)


class GetListDatablockReassembler(_GetDatablockCollector):
    """Joins the datablocks of a GET-with-list answer into its sequence of results."""

    __slots__ = ()

    def __init__(self, max_size: int = DEFAULT_MAX_REASSEMBLED_SIZE, *, first_block_number: int = 1) -> None:
        super().__init__(max_size, first_block_number)

    def add(self, response: GetResponseWithDatablock) -> tuple[GetDataResult, ...] | DataAccessResult | None:
        """Add one Get-Response-With-Datablock."""
        from .get import decode_get_data_results  # noqa: PLC0415 - loaded on first use (import time)

        joined = self._add_response(response)
        if not isinstance(joined, bytes):
            return joined
        return decode_get_data_results(joined)
