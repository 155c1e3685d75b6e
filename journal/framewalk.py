"""Walking the frame headers of a block of segment bytes in compiled code (numba).

``walk(buf, max_length)`` finds the frames at the start of ``buf`` whose header is complete,
whose length is in ``1..max_length`` and whose payload lies inside ``buf``, and returns their
end offsets and stored CRCs; the CRCs themselves are then checked in C (``crc32c``) by the
caller. Together that accepts exactly the frames ``segment.scan_block`` accepts, for the
readers that decode records in compiled code (``journal.blocks``), without a Python loop per
record.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, cast

import numba
import numpy as np
import numpy.typing as npt

__all__ = ["walk"]

_jit = cast(Callable[[Any], Any], numba.njit(cache=True, nogil=True))


def _u32le(buf: Any, p: int) -> Any:
    return (np.int64(buf[p]) | (np.int64(buf[p + 1]) << 8) | (np.int64(buf[p + 2]) << 16)
            | (np.int64(buf[p + 3]) << 24))  # fmt: skip


_u32 = _jit(_u32le)


def _walk(buf: Any, max_length: int) -> tuple[Any, Any]:
    n = buf.size
    ends = np.empty(n // 9 + 1, np.int64)
    crcs = np.empty(n // 9 + 1, np.uint32)
    count = 0
    pos: Any = 0
    while pos + 8 <= n:
        length = _u32(buf, pos)
        end = pos + 8 + length
        if length == 0 or length > max_length or end > n:
            break
        crcs[count] = _u32(buf, pos + 4)
        ends[count] = end
        count += 1
        pos = end
    return ends[:count], crcs[:count]


walk: Callable[[npt.NDArray[np.uint8], int], tuple[npt.NDArray[np.int64], npt.NDArray[np.uint32]]]
walk = _jit(_walk)
