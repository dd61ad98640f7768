"""Long evaluations report as they go: progress on stderr, partial JSON on disk, Ctrl-C keeps it.

``Report`` holds the results dict of one ``assistant eval`` run. Each
finished item calls ``progress`` (one stderr line: items done, elapsed, a
running metric) and ``save`` (the whole dict rewritten atomically to the
``--out`` file, marked ``"complete": false`` until the end), so stopping a
30-minute run keeps everything measured so far. Not handled: resuming a
stopped run (start again; items are cheap to skip by hand with --limit).
"""

from __future__ import annotations

import json
import os
import sys
import time
from pathlib import Path
from typing import Any, TextIO


class Report:
    def __init__(self, out: Path | None = None, *, stream: TextIO | None = None) -> None:
        self.out = out
        self.stream = stream if stream is not None else sys.stderr
        self.data: dict[str, Any] = {"complete": False}
        self.started = time.perf_counter()

    def progress(self, what: str, done: int, total: int, metric: str = "") -> None:
        """One line: ``[stance 12/40, 95 s] running accuracy 0.83``."""
        elapsed = time.perf_counter() - self.started
        tail = f" {metric}" if metric else ""
        print(f"[{what} {done}/{total}, {elapsed:.0f} s]{tail}", file=self.stream, flush=True)

    def save(self) -> None:
        """Rewrite the partial results file (atomic: a reader never sees half a file)."""
        if self.out is None:
            return
        tmp = self.out.with_name(self.out.name + ".tmp")
        tmp.write_text(json.dumps(self.data, ensure_ascii=False, indent=2) + "\n", encoding="utf-8")
        os.replace(tmp, self.out)

    def finish(self) -> dict[str, Any]:
        self.data["complete"] = True
        self.data["seconds"] = round(time.perf_counter() - self.started, 1)
        self.save()
        return self.data
