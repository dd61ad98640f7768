"""JSON schemas that constrain the model's output, one per mode.

Evidence fields are enums of the sentence ids given in this request, so a
grammar-constrained model cannot cite anything else; list sizes are capped so
a small model stays within its token budget. Key order is the order the
model writes in: claim, then reasoning, then evidence.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

Schema = dict[str, Any]


def _obj(**props: Schema) -> Schema:
    return {"type": "object", "properties": props, "required": list(props), "additionalProperties": False}


def _list(item: Schema, lo: int, hi: int) -> Schema:
    return {"type": "array", "items": item, "minItems": lo, "maxItems": hi}


STR: Schema = {"type": "string"}


def _evidence(ids: Sequence[str], lo: int = 1) -> Schema:
    return _list({"type": "string", "enum": list(ids)}, lo, 2)


def _argument(ids: Sequence[str]) -> Schema:
    return _obj(claim=STR, reasoning=STR, evidence=_evidence(ids))


def schema_for(mode: str, ids: Sequence[str]) -> Schema:
    """The output schema of ``mode`` with evidence limited to ``ids``."""
    if mode == "ask":
        return _obj(covered={"type": "boolean"}, points=_list(_obj(text=STR, evidence=_evidence(ids)), 0, 4),
                    gaps=STR)
    if mode == "brief":
        return _obj(
            key_terms=_list(_obj(term=STR, definition=STR), 0, 3),
            **{"for": _list(_argument(ids), 0, 3), "against": _list(_argument(ids), 0, 3)},
            clashes=_list(_obj(issue=STR, decider=STR), 1, 2),
            gaps=_list(STR, 0, 3),
        )
    if mode == "steelman":
        objection = _obj(objection=STR, evidence=_evidence(ids, 0), reply=STR, reply_evidence=_evidence(ids, 0))
        return _obj(thesis=STR, reasons=_list(_argument(ids), 1, 3), objections=_list(objection, 0, 2),
                    gaps=_list(STR, 0, 3))
    if mode == "rebut":
        point = _obj(point=STR, reasoning=STR, evidence=_evidence(ids))
        return _obj(assumptions=_list(STR, 0, 3), weak_points=_list(point, 0, 3),
                    concessions=_list(_obj(point=STR, evidence=_evidence(ids)), 0, 2), speech=STR)
    raise ValueError(f"unknown mode {mode!r}")
