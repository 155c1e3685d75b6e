"""Checking the frames of a block of segment bytes in compiled code (numba), CRCs in C.

``good_frames(data)`` returns the end offsets of the frames at the start of ``data`` that
``segment.scan_block`` accepts (complete header, length in ``1..MAX_RECORD_BYTES``, payload
inside ``data``, CRC-32C equal to the stored one), for the readers that decode records in
compiled code (``journal.blocks``), without a Python call per record. The CRC is computed
by the ``crc32c`` package's own C function (the one ``crc32c.crc32c`` calls), called from
the compiled walk through ctypes; it is checked against ``crc32c.crc32c`` at import, and if
it cannot be found or disagrees, the CRCs are computed by ``crc32c.crc32c`` per payload
(iterated in C with ``map``) and compared in numpy instead.
"""

from __future__ import annotations

import ctypes
from collections.abc import Callable
from typing import Any, cast

import crc32c
import numba
import numpy as np
import numpy.typing as npt

from journal.segment import MAX_RECORD_BYTES

__all__ = ["good_frames"]

Ints = npt.NDArray[np.int64]
_jit = cast(Callable[[Any], Any], numba.njit(cache=True, nogil=True))


def _c_crc32c() -> Any:
    """The package's C CRC-32C (``crc, pointer, length -> crc``), or None."""
    try:
        from crc32c import _crc32c  # noqa: PLC0415 - its file, to reach its C symbols

        lib = ctypes.CDLL(_crc32c.__file__)
        name = "_crc32c_hw_adler" if crc32c.hardware_based else "_crc32c_sw_slicing_by_8"
        fn = getattr(lib, name)
    except (OSError, AttributeError, ImportError):
        return None
    fn.argtypes = (ctypes.c_uint32, ctypes.c_void_p, ctypes.c_size_t)
    fn.restype = ctypes.c_uint32
    for sample in (b"\x00", b"123456789", bytes(range(256)) * 5):
        buf = ctypes.create_string_buffer(sample, len(sample))
        if fn(0xFFFFFFFF, ctypes.addressof(buf), len(sample)) ^ 0xFFFFFFFF != crc32c.crc32c(sample):
            return None
    return fn


_CRC = _c_crc32c()


def _u32le(buf: Any, p: int) -> Any:
    return (np.int64(buf[p]) | (np.int64(buf[p + 1]) << 8) | (np.int64(buf[p + 2]) << 16)
            | (np.int64(buf[p + 3]) << 24))  # fmt: skip


_u32 = _jit(_u32le)


def _walk(buf: Any, max_length: int, crc: Any) -> tuple[Any, Any]:
    """(end offsets, stored CRCs) of the frames with a good header and payload in ``buf``;
    with ``crc`` (the C function) it also stops at the first whose CRC differs."""
    n = buf.size
    ends = np.empty(n // 9 + 1, np.int64)
    stored = np.empty(n // 9 + 1, np.uint32)
    base = buf.ctypes.data
    count = 0
    pos: Any = 0
    while pos + 8 <= n:
        length = _u32(buf, pos)
        end = pos + 8 + length
        if length == 0 or length > max_length or end > n:
            break
        want = _u32(buf, pos + 4)
        # int(): ctypes wants Python ints when this runs as Python (NUMBA_DISABLE_JIT).
        if crc is not None and (crc(np.uint32(0xFFFFFFFF), int(base + pos + 8), int(length))
                                ^ np.uint32(0xFFFFFFFF)) != want:  # fmt: skip
            break
        stored[count] = want
        ends[count] = end
        count += 1
        pos = end
    return ends[:count], stored[:count]


_walk_c = _jit(_walk)


def good_frames(data: bytes) -> Ints:
    """End offsets of the good frames at the start of ``data`` (``scan_block``'s rules)."""
    buf = np.frombuffer(data, np.uint8)
    if _CRC is not None:
        ends: Ints = _walk_c(buf, MAX_RECORD_BYTES, _CRC)[0]
        return ends
    ends, stored = _walk_c(buf, MAX_RECORD_BYTES, None)
    if not ends.size:
        return ends
    view = memoryview(data)
    starts = np.concatenate(([0], ends[:-1])) + 8
    # One C call per payload, iterated in C (map), compared in numpy: no bytecode per frame.
    payloads = map(view.__getitem__, map(slice, starts.tolist(), ends.tolist()))
    crcs = np.fromiter(map(crc32c.crc32c, payloads), np.uint32, count=int(ends.size))
    bad = np.flatnonzero(crcs != stored)
    return ends[: int(bad[0])] if bad.size else ends
