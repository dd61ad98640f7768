"""What the rest of the package knows of a model: the ``Generator`` protocol, the ``Generation`` record,
and reading the JSON a model wrote.

Implemented by ``local.py`` (llama.cpp in-process) and ``remote.py`` (an OpenAI-compatible server);
tests pass a scripted fake. Not handled: streaming several requests through one generator at once.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, Protocol

OnToken = Callable[[str], None]


@dataclass(frozen=True)
class Generation:
    text: str
    prompt_tokens: int
    completion_tokens: int
    ttft_s: float
    total_s: float
    cached_tokens: int = 0  # prompt tokens reused from the KV cache (not evaluated again)


class Generator(Protocol):
    """Anything that turns chat messages into text."""

    name: str
    n_ctx: int

    def count_tokens(self, text: str) -> int: ...

    def generate(self, messages: list[dict[str, str]], *, schema: dict[str, Any] | None = None,
                 max_tokens: int = 512, temperature: float = 0.2,
                 on_token: OnToken | None = None) -> Generation: ...


def parse_json(text: str) -> dict[str, Any]:
    """The model's JSON object; a truncated one is cut back to its last complete value.

    >>> parse_json('{"a": [1, 2], "b": {"c": "long str')
    {'a': [1, 2]}

    A raw newline inside a string is kept (``strict=False``): our grammar forbids it
    (``sampler.CHAR_RULE``), but a model server's JSON mode may not.

    >>> parse_json('{"a": "one\\ntwo"}')
    {'a': 'one\\ntwo'}
    """
    for candidate in (text, *_truncations(text)):
        try:
            data = json.loads(candidate, strict=False)
        except json.JSONDecodeError:
            continue
        return data if isinstance(data, dict) else {}
    return {}


def _truncations(text: str) -> list[str]:
    """Prefixes ending after a complete array/object element, closed; longest first."""
    out, stack, in_str, escaped = [], [], False, False
    for i, ch in enumerate(text):
        if in_str:
            escaped = ch == "\\" and not escaped
            if ch == '"' and not escaped:
                in_str = False
            continue
        if ch == '"':
            in_str = True
        elif ch in "[{":
            stack.append("]" if ch == "[" else "}")
        elif ch in "]}" and stack:
            stack.pop()
            if stack:
                out.append(text[: i + 1] + "".join(reversed(stack)))
        elif ch == "," and stack:
            out.append(text[:i] + "".join(reversed(stack)))
    return out[::-1]
