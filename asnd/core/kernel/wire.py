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

__all__ = ["read_array", "read_bool", "read_int", "read_str"]

Bytes = npt.NDArray[np.uint8]


@kernel
def _be(buf: Bytes, p: int, n: int) -> int:
    """The unsigned big-endian integer in ``buf[p : p + n]`` (n <= 4)."""
    v = 0
    for i in range(n):
        v = (v << 8) | int(buf[p + i])
    return v


@kernel
def read_int(buf: Bytes, p: int, end: int) -> tuple[int, int]:
    if p >= end:
        return 0, -1
    b = int(buf[p])
    if b < 0x80:
        return b, p + 1
    if b >= 0xE0:
        return b - 256, p + 1
    if 0xCC <= b <= 0xCF:  # uint8, 16, 32, 64
        n = 1 << (b - 0xCC)
        if p + 1 + n > end:
            return 0, -1
        if n <= 4:
            return _be(buf, p + 1, n), p + 1 + n
        hi = _be(buf, p + 1, 4)
        if hi >= 0x80000000:
            return 0, -1
        return hi * 0x100000000 + _be(buf, p + 5, 4), p + 9
    if 0xD0 <= b <= 0xD3:  # int8, 16, 32, 64
        n = 1 << (b - 0xD0)
        if p + 1 + n > end:
            return 0, -1
        if n <= 4:
            v = _be(buf, p + 1, n)
            if v >= 1 << (8 * n - 1):
                v -= 1 << (8 * n)
            return v, p + 1 + n
        hi = _be(buf, p + 1, 4)
        if hi >= 0x80000000:
            hi -= 0x100000000
        return hi * 0x100000000 + _be(buf, p + 5, 4), p + 9
    return 0, -1


@kernel
def read_str(buf: Bytes, p: int, end: int) -> tuple[int, int, int]:
    """(offset of the string's bytes, their length, next position)."""
    if p >= end:
        return 0, 0, -1
    b = int(buf[p])
    if 0xA0 <= b <= 0xBF:
        at, n = p + 1, b - 0xA0
    elif 0xD9 <= b <= 0xDB:  # str8, 16, 32
        k = 1 << (b - 0xD9)
        if p + 1 + k > end:
            return 0, 0, -1
        at, n = p + 1 + k, _be(buf, p + 1, k)
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
    b = int(buf[p])
    if 0x90 <= b <= 0x9F:
        return b - 0x90, p + 1
    if 0xDC <= b <= 0xDD:
        k = 2 if b == 0xDC else 4
        if p + 1 + k > end:
            return 0, -1
        return _be(buf, p + 1, k), p + 1 + k
    return 0, -1


@kernel
def read_bool(buf: Bytes, p: int, end: int) -> tuple[bool, int]:
    if p >= end:
        return False, -1
    b = int(buf[p])
    if 0xC2 <= b <= 0xC3:
        return b == 0xC3, p + 1
    return False, -1
