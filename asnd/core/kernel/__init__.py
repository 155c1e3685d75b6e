"""The compiled core: numba kernels over flat state (see ARCHITECTURE.md).

The market kernel (journal bytes -> L2 books -> eight features) and the strategy stack machine
(``strategy``, ``strategy_ops``, ``mathfn``).

numba ``@njit(cache=True)`` functions (``jit.kernel``) over flat int64/float64 arrays whose
layout is documented in ``layout``; the same source runs as plain Python under
``NUMBA_DISABLE_JIT=1``. One implementation serves every path: the live daemon folds one
record per call, backtests, shadows and evolution loop over blocks of journal bytes inside
the kernel (``fold.fold_frames``), and evolution's feature columns are those same rows
(``frame``).

Modules, each one concept:

- ``wire``: msgpack readers over a uint8 array;
- ``records``: one journal record's fields (the four market kinds) into the state;
- ``book``: the L2 book rules over sorted level arrays;
- ``features``: the eight features of ``asnd.core.features``, one event at a time;
- ``fold``: the per-record update and its loop over a block of frames;
- ``market``: ``MarketKernel``, the Python owner of the arrays (growth, rows, one-event fold);
- ``views``: ``BookView`` and the snapshot form of a symbol's state (read and restore);
- ``frame``: a ``FeatureFrame`` (evolution's columns) from the kernel's rows;
- ``strategy``: postfix strategy programs on a stack machine, per row and over columns.

Frames reach the kernel already checked (length, CRC-32C in C: ``journal.blocks``); the
kernel never builds a Python object per event.
"""

from asnd.core.kernel.layout import TOP, Reason, Status, Verdict
from asnd.core.kernel.market import BadMarketRecord, MarketKernel, RowSink

__all__ = ["TOP", "BadMarketRecord", "MarketKernel", "Reason", "RowSink", "Status", "Verdict"]
