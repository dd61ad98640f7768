"""What a running request reports, in order, to whoever shows it (CLI, page, benchmarks).

``SourcesFound`` comes as soon as retrieval is done (tens of milliseconds);
two-sided modes send it again, with passages from both sides, once the other
side's statement is written (a few seconds), and that list replaces the first.
Then a ``StepStarted`` for each step with a line a person can read, the
model's raw ``Token``s, a ``Draft`` whenever a verified point is complete,
and finally ``Finished`` with the whole answer. Consumers never need to read
the model's raw JSON.
"""

from __future__ import annotations

from dataclasses import dataclass

from .types import Answer, Passage, Point


@dataclass(frozen=True)
class SourcesFound:
    passages: tuple[Passage, ...]


@dataclass(frozen=True)
class StepStarted:
    step: str
    label: str  # e.g. "Weighing which sentences support or oppose the motion"


@dataclass(frozen=True)
class Progress:
    """A code step's progress (e.g. sentences weighed so far); also a point where Stop is honoured."""

    step: str
    done: int
    total: int


@dataclass(frozen=True)
class Token:
    step: str
    text: str


@dataclass(frozen=True)
class Draft:
    """The verified points written so far (grows as steps finish)."""

    points: tuple[Point, ...]


@dataclass(frozen=True)
class Finished:
    answer: Answer


Event = SourcesFound | StepStarted | Progress | Token | Draft | Finished
