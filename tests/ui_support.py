"""A running Gradio app around a seeded assistant with a scripted model, for UI tests."""

from __future__ import annotations

import re
import socket
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

from assistant import Assistant
from tests.fakes import FakeGenerator

CLAIMS = ["Home working lets staff focus on deep work.", "Junior staff learn less without a mentor nearby.",
          "Autonomy turns new software into real output.", "Offshoring becomes easier once jobs are remote.",
          "Commuting time is returned to the working day.", "Managers struggle to spot problems from afar.",
          "Quiet rooms make long reports faster to finish.", "Video calls tire people more than meetings do.",
          "Flexible hours keep parents in skilled jobs.", "Office rents fall when fewer desks are needed.",
          "New hires pick up norms by watching colleagues.", "Cheap tools let small firms hire far away."]


class CitingGenerator(FakeGenerator):
    """Answers every step with the first sentence ids it was given, in its shape."""

    def generate(self, messages, *, schema=None, max_tokens=512, temperature=0.2, on_token=None):  # type: ignore[no-untyped-def]
        self.enqueue(_reply(schema or {}, len(self.calls), messages[-1]["content"] if messages else ""))
        return super().generate(messages, schema=schema, max_tokens=max_tokens, temperature=temperature,
                                on_token=on_token)


def _reply(schema: dict[str, Any], call: int = 0, task: str = "") -> dict[str, Any]:
    props = schema.get("properties", {})
    ids = _ids(schema)
    ev = ids[:2]
    if props and all(k[:1] == "S" and k[1:].isdigit() for k in props):  # the stance step's one-call labelling
        return {sid: ("support", "oppose")[n % 2] for n, sid in enumerate(props)}
    if "a1" in props:
        out = {}
        for n, (key, item) in enumerate(props.items()):
            enum = _ids(item)
            if "objection" in item["properties"]:
                out[key] = {"objection": CLAIMS[(3 * call + n) % len(CLAIMS)], "evidence": enum[:1],
                            "reply": "A reply that answers it.",
                            **({"reply_evidence": []} if "reply_evidence" in item["properties"] else {})}
            else:  # a tag in the words of the sentence it tags (the grounding gate drops any other)
                quoted = dict(re.findall(r'(S\d+) "([^"]*)"', task))
                tag = " ".join(quoted.get(enum[0], CLAIMS[(3 * call + n) % len(CLAIMS)]).split()[:12]) if enum else ""
                out[key] = {"evidence": enum[:1], "claim": tag}
        return out
    if "points" in props:
        return {"points": [{"text": "The essays answer this question.", "evidence": ev}], "gaps": ""}
    if "key_terms" in props and "for" not in props:
        return {"key_terms": [{"term": "productive", "definition": "output per hour"}],
                "clashes": [{"issue": "Whose evidence counts", "decider": "Better data"}], "gaps": ["Sector data"]}
    if "thesis" in props and "reasons" not in props:
        return {"thesis": "The position at its best.", "gaps": []}
    if "speech" in props and "weak_points" not in props:
        return {"assumptions": ["An assumption."], "speech": "A short rebuttal speech."}
    return {"assumptions": ["a"]}  # the rebuttal's frame (and any step not named above)


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
    from assistant.app.ui import serve

    port = free_port()
    app = serve(assistant, host="127.0.0.1", port=port, block=False)
    try:
        yield f"http://127.0.0.1:{port}/"
    finally:
        app.close()
