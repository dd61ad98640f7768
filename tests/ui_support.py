"""A running Gradio app around a seeded assistant with a scripted model, for UI tests."""

from __future__ import annotations

import socket
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

from assistant import Assistant
from tests.fakes import FakeGenerator


class CitingGenerator(FakeGenerator):
    """Answers every request with the first sentence ids it was given, in the mode's shape."""

    def generate(self, messages, *, schema=None, max_tokens=512, temperature=0.2, on_token=None):  # type: ignore[no-untyped-def]
        props = (schema or {}).get("properties", {})
        ids = _ids(schema or {})
        ev = ids[:2]
        if "covered" in props:
            reply: dict[str, Any] = {"covered": True, "points": [{"text": "The essays answer this.", "evidence": ev}],
                                     "gaps": ""}
        elif "for" in props:
            reply = {"key_terms": [{"term": "productive", "definition": "output per hour"}],
                     "for": [{"claim": "Home working helps.", "reasoning": "Data.", "evidence": ev[:1]}],
                     "against": [{"claim": "Offices help juniors.", "reasoning": "Training.", "evidence": ids[2:3]}],
                     "clashes": [{"issue": "Evidence", "decider": "Better data"}], "gaps": ["Sector data"]}
        elif "thesis" in props:
            reply = {"thesis": "t", "reasons": [{"claim": "c", "reasoning": "r", "evidence": ev}],
                     "objections": [{"objection": "o", "evidence": [], "reply": "r", "reply_evidence": []}],
                     "gaps": []}
        else:
            reply = {"assumptions": ["a"], "weak_points": [{"point": "p", "reasoning": "r", "evidence": ev}],
                     "concessions": [], "speech": "s"}
        self.enqueue(reply)
        return super().generate(messages, schema=schema, max_tokens=max_tokens, temperature=temperature,
                                on_token=on_token)


def _ids(schema: dict[str, Any]) -> list[str]:
    """The sentence-id enum anywhere in the schema."""
    if isinstance(schema, dict):
        if "enum" in schema:
            return list(schema["enum"])
        for value in schema.values():
            found = _ids(value) if isinstance(value, dict | list) else []
            if found:
                return found
    if isinstance(schema, list):
        for value in schema:
            found = _ids(value)
            if found:
                return found
    return []


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@contextmanager
def running_app(assistant: Assistant) -> Iterator[str]:
    """Serve ``assistant`` on a free loopback port; yields the URL."""
    from assistant.ui import serve

    port = free_port()
    app = serve(assistant, host="127.0.0.1", port=port, block=False)
    try:
        yield f"http://127.0.0.1:{port}/"
    finally:
        app.close()
