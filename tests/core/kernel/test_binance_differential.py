"""Kernel rows (book top-5, eight features, verdict, stale/valid flags) on the imported Binance
feeds (``shared/data/binance``, issue 15 Must show), checked two ways:

- against the pre-kernel Python ``L2Book``/``FeatureEngine``, kept as the tests' oracle
  (``tests/core/kernel/oracle.py`` through ``reference.python_rows``), row by row and bit for
  bit, and on the final books;
- against golden digests (``golden/binance_rows.json``: row count and SHA-256 of the int and
  float rows), written from the Python reference's rows.

Regenerate the digests from the Python reference (only after a deliberate change to the
importer or the features): ``ASN_WRITE_GOLDEN=1 pytest`` on this file.
"""

from __future__ import annotations

import hashlib
import json
import os
from pathlib import Path

import numpy as np
import numpy.typing as npt
import pytest

from asnd.core.kernel import MarketKernel
from asnd.core.kernel.layout import O_FIELDS, O_VALID
from journal.blocks import JournalBlocks
from journal.reader import JournalReader
from tests.conftest import BINANCE_RECORDINGS

Ints = npt.NDArray[np.int64]
Floats = npt.NDArray[np.float64]

GOLDEN = Path(__file__).with_name("golden") / "binance_rows.json"


def _kernel(journal: Path) -> tuple[Ints, Floats, MarketKernel]:
    """The kernel folding the journal's bytes (the backtest path), every row kept."""
    ints: list[Ints] = [np.zeros((0, O_FIELDS), np.int64)]
    values: list[Floats] = [np.zeros((0, 8))]

    def keep(i: Ints, v: Floats) -> None:
        ints.append(i.copy())
        values.append(v.copy())

    kernel = MarketKernel(sink=keep)
    kernel.fold_blocks(JournalBlocks(journal).blocks())
    return np.concatenate(ints), np.concatenate(values), kernel


def _digest(ints: Ints, values: Floats) -> dict[str, object]:
    return {
        "rows": len(ints),
        "ints_sha256": hashlib.sha256(np.ascontiguousarray(ints, "<i8").tobytes()).hexdigest(),
        "values_sha256": hashlib.sha256(np.ascontiguousarray(values, "<f8").tobytes()).hexdigest(),
    }


@pytest.mark.parametrize("name", list(BINANCE_RECORDINGS))
def test_kernel_rows_equal_the_python_book_and_features(
    name: str, binance_journals: dict[str, Path]
) -> None:
    from tests.core.kernel.reference import assert_same_rows, python_rows

    journal = binance_journals[name]
    got_ints, got_values, kernel = _kernel(journal)
    want_ints, want_values, engines = python_rows(JournalReader(journal).events())
    assert_same_rows((got_ints, got_values), (want_ints, want_values))
    assert int(want_ints[:, O_VALID].sum()) == len(want_ints)  # features on every row
    ((symbol, engine),) = engines.items()
    assert kernel.levels(symbol) == engine.book.levels()
    assert kernel.update_id(symbol) == engine.book.update_id
    assert not kernel.stale(symbol)
    assert not engine.book.stale
    if os.environ.get("ASN_WRITE_GOLDEN") == "1":
        golden = json.loads(GOLDEN.read_text()) if GOLDEN.is_file() else {}
        golden[name] = _digest(want_ints, want_values)
        GOLDEN.parent.mkdir(exist_ok=True)
        GOLDEN.write_text(json.dumps(golden, indent=2, sort_keys=True) + "\n")


@pytest.mark.parametrize("name", list(BINANCE_RECORDINGS))
def test_kernel_rows_equal_the_golden_python_output(
    name: str, binance_journals: dict[str, Path]
) -> None:
    golden = json.loads(GOLDEN.read_text())
    ints, values, _kernel_state = _kernel(binance_journals[name])
    assert _digest(ints, values) == golden[name]
