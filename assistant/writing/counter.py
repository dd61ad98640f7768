"""The other side's statement, written by the model in a few tokens.

A brief, steelman or rebuttal needs evidence against the request, but the
request's own words retrieve mostly its own side ("arguments against: X"
embeds like "X"), and the stance step's negation "It is not true that X"
is not how anyone argues. One short call turns "Remote work makes
companies more productive" into "Remote work makes companies less
productive": retrieval searches with it for the other side's passages,
the stance step weighs each sentence towards both statements, and the
AGAINST step argues it. A reply that is not a usable opposite (empty, a
copy, off topic, several sentences) is dropped and the modes fall back to
the plain negation. Not handled: motions with several separable clauses
(their opposite is one negated sentence).
"""

from __future__ import annotations

import re
from pathlib import Path

from ..llm.base import Generator, OnToken
from . import prompts
from .gates import words

MAX_TOKENS = 48
MAX_WORDS = 60


def opposite(generator: Generator, prompts_dir: Path, request: str,
             on_token: OnToken | None = None) -> str | None:
    """The model's opposite of ``request``, or None when its reply is not one."""
    messages = [{"role": "system", "content": prompts.render(prompts_dir, "system")},
                {"role": "user", "content": prompts.render(prompts_dir, "counter", request=request)}]
    gen = generator.generate(messages, max_tokens=MAX_TOKENS, temperature=0.0, on_token=on_token)
    return usable(gen.text, request)


def usable(reply: str, request: str) -> str | None:
    """``reply`` cleaned to one sentence if it can stand as the request's opposite, else None.

    >>> usable('"Cities should not ban cars."', "Cities should ban cars")
    'Cities should not ban cars.'
    >>> usable("Cities should ban cars.", "Cities should ban cars") is None
    True
    >>> usable("I like turtles very much.", "Cities should ban cars") is None
    True
    """
    line = next((ln.strip() for ln in reply.strip().splitlines() if ln.strip()), "")
    line = re.sub(r"^(?:opposite|statement|answer)\s*:\s*", "", line, flags=re.I).strip().strip("\"'“”").strip()
    own, theirs = words(line), words(request)
    if not own or len(line.split()) > MAX_WORDS or own == theirs:  # nothing, a ramble, or the request again
        return None
    if len((own & theirs) - STOP) < max(1, len(theirs - STOP) // 3):  # must stay on the request's topic
        return None
    return line


STOP = frozenset("a an and are as at be by can do does for from has have in is it its of on or should that the "
                 "their they this to was were will with would not no".split())
