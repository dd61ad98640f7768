"""IBM Debater ArgKP (the KPA 2021 shared task's data), read from a folder the user points at.

The data is evaluation material only: it is never copied into the project
(``../shared/benchmarks/argkp/`` in development; CDLA-Sharing 1.0, see its
readme). Files per split (``train``: 24 topics, ``dev``: 4): ``arguments_*``
(``arg_id, argument, topic, stance``; stance 1 pro, -1 con),
``key_points_*`` (``key_point_id, key_point, topic, stance``) and ``labels_*``
(``arg_id, key_point_id, label``; undecided pairs are absent).

``mixed_requests`` builds what the stance evaluation feeds the stance step:
per topic, eight arguments in five mixes of sides (all pro, all con, 3:1,
1:3, 1:1) plus two arguments of another topic as off-topic distractors, drawn
with a fixed seed so every method sees the same requests. Not handled: the
shared task's test split (not in the folder).
"""

from __future__ import annotations

import csv
import random
from dataclasses import dataclass
from pathlib import Path

from ..errors import InputError

SPLITS = ("train", "dev")
MIXES: dict[str, tuple[int, int]] = {"all pro": (8, 0), "all con": (0, 8), "3:1": (6, 2), "1:3": (2, 6),
                                     "1:1": (4, 4)}
OFF_TOPIC = 2  # distractors per request, from the next topic in alphabetical order


@dataclass(frozen=True)
class Argument:
    arg_id: str
    text: str
    topic: str
    stance: int  # 1 pro, -1 con (towards its own topic)


@dataclass(frozen=True)
class KeyPoint:
    kp_id: str
    text: str
    topic: str
    stance: int


@dataclass(frozen=True)
class Split:
    """One split: arguments and key points by topic, and the match labels (arg_id, kp_id) -> 0/1."""

    arguments: dict[str, list[Argument]]
    key_points: dict[str, list[KeyPoint]]
    labels: dict[tuple[str, str], int]

    @property
    def topics(self) -> list[str]:
        return sorted(self.arguments)


@dataclass(frozen=True)
class MixedRequest:
    """Eight arguments of ``topic`` in one mix of sides, then the off-topic distractors."""

    topic: str
    mix: str
    arguments: tuple[Argument, ...]
    off_topic: tuple[Argument, ...]


def load(folder: Path, split: str) -> Split:
    """Read one split of the ArgKP folder, or raise one ``InputError`` saying what is missing."""
    if split not in SPLITS:
        raise InputError(f"unknown ArgKP split {split!r}: use {' or '.join(SPLITS)}")
    folder = Path(folder).expanduser()
    if not folder.is_dir():
        raise InputError(f"not a folder: {folder} (give the ArgKP folder, e.g. ../shared/benchmarks/argkp)")
    args = _rows(folder / f"arguments_{split}.csv", ("arg_id", "argument", "topic", "stance"))
    kps = _rows(folder / f"key_points_{split}.csv", ("key_point_id", "key_point", "topic", "stance"))
    labels = _rows(folder / f"labels_{split}.csv", ("arg_id", "key_point_id", "label"))
    by_topic: dict[str, list[Argument]] = {}
    for r in args:
        by_topic.setdefault(r["topic"], []).append(Argument(r["arg_id"], r["argument"].strip(), r["topic"],
                                                            int(r["stance"])))
    points: dict[str, list[KeyPoint]] = {}
    for r in kps:
        points.setdefault(r["topic"], []).append(KeyPoint(r["key_point_id"], r["key_point"].strip(), r["topic"],
                                                          int(r["stance"])))
    return Split(by_topic, points, {(r["arg_id"], r["key_point_id"]): int(r["label"]) for r in labels})


def _rows(path: Path, columns: tuple[str, ...]) -> list[dict[str, str]]:
    try:
        with path.open(encoding="utf-8", newline="") as f:
            rows = list(csv.DictReader(f))
    except FileNotFoundError:
        raise InputError(f"{path.name} is missing from {path.parent} (is it the ArgKP folder?)") from None
    except (OSError, UnicodeDecodeError, csv.Error) as exc:
        raise InputError(f"cannot read {path}: {exc}") from None
    if rows and not set(columns) <= set(rows[0]):
        raise InputError(f"{path.name} lacks the columns {', '.join(columns)}")
    return rows


def mixed_requests(split: Split, *, seed: int = 0, topics: list[str] | None = None) -> list[MixedRequest]:
    """Every topic in every mix, with off-topic distractors, drawn reproducibly from ``seed``."""
    rng = random.Random(seed)
    order = split.topics
    out = []
    for i, topic in enumerate(order):
        if topics is not None and topic not in topics:
            continue
        pro = [a for a in split.arguments[topic] if a.stance == 1]
        con = [a for a in split.arguments[topic] if a.stance == -1]
        other = split.arguments[order[(i + 1) % len(order)]]
        for mix, (n_pro, n_con) in MIXES.items():
            chosen = rng.sample(pro, n_pro) + rng.sample(con, n_con)
            rng.shuffle(chosen)
            out.append(MixedRequest(topic, mix, tuple(chosen), tuple(rng.sample(other, OFF_TOPIC))))
    return out
