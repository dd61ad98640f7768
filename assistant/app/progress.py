"""Readable progress on a terminal while a request runs: sources, steps, claims as they land.

Shown only when the stream is a terminal (or ``ASSISTANT_PROGRESS=1``), so
scripts that capture stderr get nothing but errors. The answer itself is
printed on stdout once verified. Not handled: cursor tricks beyond one
rewritten status line.
"""

from __future__ import annotations

import os
from typing import TextIO

from ..events import Draft, Event, Finished, Progress, SourcesFound, StepStarted, Token
from ..writing.specs import SECTIONS

SIDES = {key: s.progress for key, s in SECTIONS.items()}


class TerminalProgress:
    """An ``on_event`` callback that writes progress lines to ``out``."""

    def __init__(self, out: TextIO) -> None:
        self.out = out
        self.enabled = os.environ.get("ASSISTANT_PROGRESS") == "1" or out.isatty()
        self.shown = 0  # points already printed
        self.tokens = 0
        self.status = ""

    def __enter__(self) -> TerminalProgress:
        return self

    def __exit__(self, *exc: object) -> None:
        self._clear()

    def __call__(self, event: Event) -> None:
        if not self.enabled:
            return
        if isinstance(event, SourcesFound):
            titles = "; ".join(f"[P{n}] {p.chunk.title}" for n, p in enumerate(event.passages, 1))
            self._line(f"reading {len(event.passages)} passages: {titles}" if event.passages else "no passages found")
        elif isinstance(event, StepStarted):
            self.tokens = 0
            self._status(f"{event.label}…")
        elif isinstance(event, Progress):
            self._status(f"{event.step}: {event.done}/{event.total}")
        elif isinstance(event, Token):
            self.tokens += 1
            if self.tokens % 5 == 1:
                self._status(f"writing… {self.tokens} tokens")
        elif isinstance(event, Draft):
            for p in event.points[self.shown:]:
                cites = "".join(sorted({f"[P{q.passage}]" for q in p.verified_quotes}))
                counts = f" ({p.prevalence.sentences} sentences)" if p.prevalence else ""  # overview key points
                self._line(f"  {SIDES.get(p.section, p.section)}: {p.text}{counts} {cites}".rstrip())
            self.shown = len(event.points)
        elif isinstance(event, Finished):
            self._clear()

    def _line(self, text: str) -> None:
        self._clear()
        print(text, file=self.out, flush=True)

    def _status(self, text: str) -> None:
        self._clear()
        self.status = text[:100]
        print(f"\r{self.status}", end="", file=self.out, flush=True)

    def _clear(self) -> None:
        if self.status:
            print("\r" + " " * len(self.status) + "\r", end="", file=self.out, flush=True)
            self.status = ""
