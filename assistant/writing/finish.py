"""Prose the user sees ends properly and is the model's own: cut at boundaries, never echoing the task.

Two failures of a small model under a JSON grammar, each checked in code:

- **Cut mid-word.** A string's ``maxLength`` makes the grammar close it
  wherever the cap falls ("even if those g"). ``trim`` cuts such a string back
  to its last sentence end, else its last clause boundary, else its last whole
  word, and drops a dangling article or preposition; ``fit_strings`` applies it
  to every string of a step's output that reached its schema cap.
- **The task's own words.** Asked for "the position in one or two sentences,
  as its best defender would put it", the 1.5B model sometimes writes exactly
  that. ``echoes`` finds a field that shares a run of ``ECHO_WORDS`` words with
  the task's instructions (the request's own words do not count).

``unfinished`` is the evaluator's view of the first failure, for any text:
it cannot know the caps of an old answer, so it looks at how the text ends.
Not handled: a sentence that ends properly but says nothing.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from typing import Any

ECHO_WORDS = 6
_END = re.compile(r"[.!?…][\"'”’)\]]*$")
_CLAUSE = re.compile(r"[,;:—–]\s")
_WORD = re.compile(r"[A-Za-z0-9']+")
DANGLING = frozenset("a an the of to and or but that which for with from by in on at as is are was were be its "
                     "their his her this these those than if so because while whether".split())
# Every cap the schemas set on a prose string (schemas.py); a text that long was closed by the grammar.
CAPS = (40, 140, 160, 200, 220, 260, 300, 700, 900)


def trim(text: str) -> str:
    """``text`` cut back to its last sentence end, clause boundary or whole word; no dangling small word.

    >>> trim("Remote work saves time. It also helps focus, even if those g")
    'Remote work saves time.'
    >>> trim("Workers value flexibility, which helps them stay, and that artificial int")
    'Workers value flexibility, which helps them stay'
    >>> trim("a definition of the lack of human-to-")
    'a definition of the lack'
    """
    text = text.rstrip()
    ends = [m.end() for m in re.finditer(r"[.!?…][\"'”’)\]]*(?=\s|$)", text)]
    if ends and ends[-1] >= len(text) // 3:
        return text[: ends[-1]]
    clauses = [m.start() for m in _CLAUSE.finditer(text)]
    cut = text[: clauses[-1]] if clauses and clauses[-1] >= len(text) // 3 else " ".join(text.split()[:-1])
    words = cut.split()
    while words and (words[-1].lower().strip(",;:") in DANGLING or not _WORD.search(words[-1])
                     or words[-1].endswith("-")):
        words.pop()
    return " ".join(words).rstrip(",;:—– ")


def fit_strings(data: Any, schema: dict[str, Any]) -> tuple[Any, int]:
    """``data`` with every string that reached its schema's ``maxLength`` trimmed; and how many were."""
    count = 0

    def walk(value: Any, part: dict[str, Any]) -> Any:
        nonlocal count
        if isinstance(value, str):
            cap = part.get("maxLength")
            if cap and len(value) >= cap - 1:
                count += 1
                return trim(value)
            return value
        if isinstance(value, list):
            return [walk(v, part.get("items", {})) for v in value]
        if isinstance(value, dict):
            props = part.get("properties", {})
            return {k: walk(v, props.get(k, {})) for k, v in value.items()}
        return value

    return walk(data, schema), count


# Words that open a subordinate clause: a text that opens one (at its start, or after "that") must close it
# with a comma and go on, else it is a fragment. Only the concessive ones: "if", "because", "when", "since"
# also open clauses that careful writers close without a comma ("If cannabis was legalized it could be
# regulated", an ArgKP key point), and "whether" opens subjects ("Whether staff return is unclear").
SUBORDINATE = frozenset("despite although though while whereas".split())
_OPENS = re.compile(r"^\W*(?:even\s+)?(\w+)|\bthat\s+(?:even\s+)?(\w+)", re.I)


def fragment(text: str) -> bool:
    """Whether ``text`` is only a subordinate clause: it opens one and never reaches its main clause.

    Seen as tags on the gold set: "Despite the frantic pace of software development and the aggressive
    integration of machine learning into corporate ecosystems" (the sentence goes on: "..., the
    anticipated surge in national productivity remains elusive").

    >>> fragment("Despite the frantic pace of software development"), fragment("Despite the hype, output is flat")
    (True, False)
    >>> fragment("Surveys suggest that while most staff have tried the tools"), fragment("Offices cost money")
    (True, False)
    >>> fragment("Remote work helps while offices distract"), fragment("Whether staff return is unclear")
    (False, False)
    """
    for m in _OPENS.finditer(text):
        word = (m.group(1) or m.group(2) or "").lower()
        if word in SUBORDINATE:
            rest = text[m.end():]
            return not re.search(r"[,;:—–]\s+\S+\s+\S+", rest)
    return False


def unfinished(text: str) -> bool:
    """Whether a shown text ends mid-word or mid-sentence, as far as its ending tells.

    It is unfinished when it stops on a hyphen or a dangling small word, is only a subordinate clause
    (``fragment``), or is exactly as long as a schema cap and does not end a sentence.

    >>> unfinished("it does work for most tech j" + "x" * 132), unfinished("Offices cost money.")
    (True, False)
    >>> unfinished("the lack of human-to-"), unfinished("Lord Rose's view of the")
    (True, True)
    """
    text = text.rstrip()
    if not text:
        return False
    last = text.split()[-1].lower()
    if text.endswith(("-", "—", "–")) or last in DANGLING or fragment(text):
        return True
    return len(text) in CAPS and not _END.search(text)


def _grams(text: str, n: int = ECHO_WORDS) -> set[tuple[str, ...]]:
    words = [w.lower() for w in _WORD.findall(text)]
    return {tuple(words[i:i + n]) for i in range(len(words) - n + 1)}


def echoes(text: str, task: str, request: str = "") -> bool:
    """Whether ``text`` repeats a run of ``ECHO_WORDS`` words of ``task`` that the request does not hold.

    >>> task = "- thesis: the position in one or two sentences, as its best defender would put it."
    >>> echoes("The position in one or two sentences, as its best defender would put it.", task)
    True
    >>> echoes("Offices build the trust that remote teams lack.", task)
    False
    """
    return bool(_grams(text) & (_grams(task) - _grams(request)))


def strings(data: Any) -> Iterator[tuple[tuple[Any, ...], str]]:
    """Every string in a parsed JSON value with its path (keys and indexes), depth first."""
    if isinstance(data, str):
        yield (), data
    elif isinstance(data, list):
        for i, v in enumerate(data):
            for path, s in strings(v):
                yield (i, *path), s
    elif isinstance(data, dict):
        for k, v in data.items():
            for path, s in strings(v):
                yield (k, *path), s
