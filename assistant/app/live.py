"""What the page shows while a request runs: the step, finished points, claims being written.

Fed the events of ``events.py`` one by one; ``markdown()`` is the chat
bubble, ``sources`` the sources panel (filled as soon as retrieval is done).
Claims appear as soon as the model has closed their string in its JSON,
before the step ends; quotes appear once verified. Never shows raw JSON.
Not handled: rendering the final answer (``render.answer_markdown`` does).
"""

from __future__ import annotations

from typing import Any

from ..events import Draft, Event, Progress, SourcesFound, StepStarted, Token
from ..llm.base import parse_json
from ..output.cards import prevalence_text
from ..output.render import sources_html
from ..types import Answer, Passage, Point
from ..writing.specs import SECTIONS

TEXT_KEYS = ("claim", "objection", "text")
REFRESH_TOKENS = 6  # re-parse the step's partial JSON every few tokens


class LiveView:
    def __init__(self, mode: str) -> None:
        self.mode = mode
        self.passages: tuple[Passage, ...] = ()
        self.points: tuple[Point, ...] = ()
        self.status = "Searching the sources…"
        self.pending: list[str] = []  # claims of the running step, not yet verified
        self.sources = ""
        self._step_text: list[str] = []

    def update(self, event: Event) -> bool:
        """Take one event; True when what is shown changed."""
        if isinstance(event, SourcesFound):
            self.passages = event.passages
            names = ", ".join(f"[P{n}] {p.chunk.title}" for n, p in enumerate(self.passages, 1))
            self.status = f"Reading {len(self.passages)} passages: {names}" if self.passages else "No passages found."
            self._refresh_sources()
            return True
        if isinstance(event, StepStarted):
            self.status, self._step_text, self.pending = f"{event.label}…", [], []
            return True
        if isinstance(event, Progress):
            return event.done in (1, event.total) or event.done % 5 == 0
        if isinstance(event, Token):
            self._step_text.append(event.text)
            if len(self._step_text) % REFRESH_TOKENS:
                return False
            claims = _claims(parse_json("".join(self._step_text)))
            changed = claims != self.pending
            self.pending = claims
            return changed
        if isinstance(event, Draft):
            self.points, self.pending = event.points, []
            self._refresh_sources()
            return True
        return False

    def markdown(self, *, stopped: bool = False) -> str:
        lines = ["*Stopped.*" if stopped else f"*{self.status}*", ""]
        for section in SECTIONS.values():
            mine = [p for p in self.points if p.section == section.key]
            if mine:
                lines.append(f"**{section.heading}**" if self.mode != "ask" else "")
                for n, p in enumerate(mine, 1):
                    passages = sorted({x.passage for x in p.verified_quotes if x.passage is not None})
                    cites = "".join(f"[[P{q}]](#src-P{q})" for q in passages)
                    counts = f" ({prevalence_text(p)})" if p.prevalence else ""  # an overview's key point
                    lines.append(f"{n}. **{p.text}**{counts} {cites}".rstrip())
                lines.append("")
        lines += [f"- ✎ {c}" for c in self.pending]
        return "\n".join(lines).strip()

    def _refresh_sources(self) -> None:
        self.sources = sources_html(Answer(self.mode, "", "", self.passages, self.points))


def _claims(data: dict[str, Any]) -> list[str]:
    """Claim-like strings in a step's (partial) JSON, in order."""
    items = [v for v in data.values() if isinstance(v, dict)]
    items += [x for v in data.values() if isinstance(v, list) for x in v if isinstance(x, dict)]
    return [str(x[k]).strip() for x in items for k in TEXT_KEYS if isinstance(x.get(k), str) and x[k].strip()]
