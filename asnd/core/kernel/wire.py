"""msgpack readers over a uint8 array: the subset the journal's market records use.

Each reader takes the buffer, a position and the end of the record, and returns the value(s)
and the position after them; a position of -1 means the bytes are not what the field needs
(wrong type, or past the record's end). Nothing raises, so callers turn -1 into one error
status (``records``). Encodings follow the msgpack spec (big endian): ints as positive/negative
fixint, uint8-64 and int8-64 (a uint64 above 2**63 - 1 is refused: every field is int64);
strings as fixstr/str8/16/32; arrays as fixarray/array16/32; booleans as 0xc2/0xc3.
"""

from __future__ import annotations

import numpy as np
import numpy.typing as npt

from asnd.core.kernel.jit import kernel

__all__ = ["read_array", "read_bool", "read_common_int", "read_int", "read_ints", "read_str"]

Bytes = npt.NDArray[np.uint8]
Ints = npt.NDArray[np.int64]


@kernel
def _u8(buf: Bytes, p: int) -> int:
    return np.int64(buf[p])  # type: ignore[return-value]  # int64 semantics in both modes


@kernel
def _u16(buf: Bytes, p: int) -> int:
    return (_u8(buf, p) << 8) | _u8(buf, p + 1)


@kernel
def _u32(buf: Bytes, p: int) -> int:
    return (_u16(buf, p) << 16) | _u16(buf, p + 2)


@kernel
def read_int(buf: Bytes, p: int, end: int) -> tuple[int, int]:
    if p >= end:
        return 0, -1
    b = _u8(buf, p)
    if b < 0x80:
        return b, p + 1
    if b >= 0xE0:
        return b - 256, p + 1
    if b < 0xCC or b > 0xD3:
        return 0, -1
    n = 1 << ((b - 0xCC) & 3)  # uint8-64 are 0xCC-0xCF, int8-64 0xD0-0xD3
    if p + 1 + n > end:
        return 0, -1
    v = 0
    for i in range(n):
        v = (v << 8) | _u8(buf, p + 1 + i)  # 8 bytes wrap to two's complement (int64)
    if b >= 0xD0:
        if n < 8 and v >= 1 << (8 * n - 1):
            v -= 1 << (8 * n)
    elif v < 0:
        return 0, -1  # a uint64 above the int64 range of every field
    return v, p + 1 + n


@kernel
def read_common_int(buf: Bytes, p: int, end: int) -> tuple[int, int]:
    """``read_int`` for the encodings of nearly every price, size and count (fixint, uint16,
    uint32), small enough to be inlined; position -2 for any other (call ``read_int``).
    ``read_int`` itself is not inlined by LLVM, and a call per element cost 4x."""
    if p < end:
        b = _u8(buf, p)
        if b < 0x80:
            return b, p + 1
        if b == 0xCD and p + 3 <= end:
            return _u16(buf, p + 1), p + 3
        if b == 0xCE and p + 5 <= end:
            return _u32(buf, p + 1), p + 5
    return 0, -2


@kernel
def read_ints(buf: Bytes, p: int, end: int, out: Ints, row: int, n: int) -> int:
    """``n`` ints into ``out[row, :n]``; the next position, or -1."""
    for i in range(n):
        v, q = read_common_int(buf, p, end)
        if q < 0:
            v, q = read_int(buf, p, end)
            if q < 0:
                return -1
        out[row, i] = v
        p = q
    return p


@kernel
def read_str(buf: Bytes, p: int, end: int) -> tuple[int, int, int]:
    """(offset of the string's bytes, their length, next position)."""
    if p >= end:
        return 0, 0, -1
    b = _u8(buf, p)
    if 0xA0 <= b <= 0xBF:
        at, n = p + 1, b - 0xA0
    elif 0xD9 <= b <= 0xDB:  # str8, 16, 32
        k = 1 << (b - 0xD9)
        if p + 1 + k > end:
            return 0, 0, -1
        at = p + 1 + k
        n = _u8(buf, p + 1) if k == 1 else _u16(buf, p + 1) if k == 2 else _u32(buf, p + 1)
    else:
        return 0, 0, -1
    if at + n > end:
        return 0, 0, -1
    return at, n, at + n


@kernel
def read_array(buf: Bytes, p: int, end: int) -> tuple[int, int]:
    """(number of elements, position of the first)."""
    if p >= end:
        return 0, -1
    b = _u8(buf, p)
    if 0x90 <= b <= 0x9F:
        return b - 0x90, p + 1
    if b == 0xDC:
        return (_u16(buf, p + 1), p + 3) if p + 3 <= end else (0, -1)
    if b == 0xDD:
        return (_u32(buf, p + 1), p + 5) if p + 5 <= end else (0, -1)
    return 0, -1


@kernel
def read_bool(buf: Bytes, p: int, end: int) -> tuple[bool, int]:
    if p >= end:
        return False, -1
    b = _u8(buf, p)
    if 0xC2 <= b <= 0xC3:
        return b == 0xC3, p + 1
    return False, -1
