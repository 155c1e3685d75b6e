"""A journal-writing child process for crash, follow and disk-failure tests.

usage: writer_proc.py DIR MODE COUNT [SEGMENT_BYTES]
  durable  append_durable COUNT events, printing each seq once it returned (it is on disk)
  stream   append COUNT events in batches of 10 with a commit after each batch
  fsize    like durable, under RLIMIT_FSIZE=64 KiB: prints "error: ..." when the disk "fills"
"""

from __future__ import annotations

import resource
import signal
import sys
from pathlib import Path

from journal.errors import JournalWriteError
from journal.writer import JournalWriter
from tests.journal.helpers import delta, trade


def main() -> int:
    directory, mode, count = Path(sys.argv[1]), sys.argv[2], int(sys.argv[3])
    segment_bytes = int(sys.argv[4]) if len(sys.argv) > 4 else 64 << 20
    if mode == "fsize":
        signal.signal(signal.SIGXFSZ, signal.SIG_IGN)  # get EFBIG instead of dying
        resource.setrlimit(resource.RLIMIT_FSIZE, (64 * 1024, 64 * 1024))
    with JournalWriter.open(directory, segment_bytes=segment_bytes, max_batch_delay_s=3600) as w:
        for i in range(count):
            event = delta(i, levels=1 + i % 20) if i % 4 else trade(i)
            if mode == "stream":
                w.append(event)
                if i % 10 == 9:
                    w.commit()
                continue
            try:
                seq = w.append_durable(event).seq
            except JournalWriteError as exc:
                print(f"error: {exc}", flush=True)
                try:
                    w.append_durable(trade(i))
                except JournalWriteError as again:
                    print(f"refused: {again}", flush=True)
                return 3
            print(seq, flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
