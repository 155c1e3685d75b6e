"""Challenger files: ``strategy_challenger_<slot>_<id>.json`` (strategy format v1) written
atomically into the directory the daemon's pit crew watches.

Ids are ``s<slot>-g<generation>-<hash>``: the generation that produced the individual and
the first 12 hex digits of a hash of its two trees, so the same strategy always gets the
same id and file name. ``metadata.lineage`` lists the parents by their search labels
``s<slot>-g<generation>-<n>``, so with the id it gives generation and parents;
``metadata.seed`` the run's seed, ``data_range`` the first and last event time of the data,
``fitness`` every component (causal by L2 replay, causal vectorised, adversarial, final).
No wall-clock time is written, so the same seed and
data give byte-identical files.

Atomic: each file is written as a hidden temporary (``.tmp-...``, which the pit crew's
``strategy_challenger_*.json`` pattern never matches), fsynced, renamed into place, and the
directory fsynced. Every document is checked with ``parse_strategy`` before anything is
written, so a run either writes all its challengers or none.
"""

from __future__ import annotations

import os
import tempfile
from dataclasses import replace
from pathlib import Path

from asnd.core.strategy import StrategyDocument, parse_strategy, to_json

__all__ = ["challenger_name", "write_challengers"]


def challenger_name(slot: int, doc_id: str) -> str:
    return f"strategy_challenger_{slot}_{doc_id}.json"


def write_challengers(docs: list[StrategyDocument], directory: Path, slot: int) -> list[Path]:
    """Write every document; returns the paths. Raises before writing if one is invalid."""
    texts = []
    for doc in docs:
        text = to_json(doc) + "\n"
        loaded = parse_strategy(text)  # StrategyError: nothing has been written yet
        if replace(loaded, source_version=doc.source_version) != doc:
            raise ValueError(f"challenger {doc.id} does not survive a round trip")
        texts.append((doc.id, text))
    directory.mkdir(parents=True, exist_ok=True)
    paths = []
    for doc_id, text in texts:
        path = directory / challenger_name(slot, doc_id)
        _write_atomic(path, text.encode())
        paths.append(path)
    _fsync_dir(directory)
    return paths


def _write_atomic(path: Path, data: bytes) -> None:
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=".tmp-", suffix=".json")
    try:
        with os.fdopen(fd, "wb") as f:
            f.write(data)
            f.flush()
            os.fsync(f.fileno())
        os.chmod(tmp, 0o640)
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise


def _fsync_dir(directory: Path) -> None:
    fd = os.open(directory, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)
