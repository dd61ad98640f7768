"""JSON schemas that constrain the model's output, one per mode.

Evidence fields are enums of the sentence ids given in this request, so a
grammar-constrained model cannot cite anything else; list sizes are capped so
a small model stays within its token budget. Key order is the order the
model writes in: claim, reasoning, then evidence.
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


def _text(limit: int) -> Schema:
    """A string capped in characters: keeps a small model from rambling into its token limit."""
    return {"type": "string", "minLength": 3, "maxLength": limit}


CLAIM, REASONING, SHORT = _text(160), _text(300), _text(160)


def _evidence(ids: Sequence[str], lo: int = 1) -> Schema:
    return _list({"type": "string", "enum": list(ids)}, lo, 2)


def _argument(ids: Sequence[str]) -> Schema:
    # Claim first. Tried evidence first: the 1.5B model then walks S1, S2, ... in order and
    # copies the sentences as claims, which reads worse.
    return _obj(claim=CLAIM, reasoning=REASONING, evidence=_evidence(ids))


def schema_for(mode: str, ids: Sequence[str]) -> Schema:
    """A whole answer of ``mode`` as one JSON object, evidence limited to ``ids``.

    No request uses it since the one-call path was retired (issue 21, docs/evaluation.md); it
    stays as the grammar's large nested load in tests/test_llm_fast.py and benchmarks/bench_generate.py.
    """
    if mode == "ask":
        return _obj(covered={"type": "boolean"}, points=_list(_obj(text=REASONING, evidence=_evidence(ids)), 0, 4),
                    gaps=_text(200))
    if mode == "brief":
        return _obj(
            key_terms=_list(_obj(term=_text(40), definition=SHORT), 1, 3),
            # At least one argument per side: small models otherwise skip the hard part.
            # A side the sources cannot support shows up as an argument whose evidence fails
            # to support it, which the brief reports as one-sided.
            **{"for": _list(_argument(ids), 1, 3), "against": _list(_argument(ids), 1, 3)},
            clashes=_list(_obj(issue=SHORT, decider=SHORT), 1, 2),
            gaps=_list(SHORT, 0, 3),
        )
    if mode == "steelman":
        objection = _obj(objection=CLAIM, evidence=_evidence(ids, 0), reply=REASONING,
                         reply_evidence=_evidence(ids, 0))
        return _obj(thesis=_text(300), reasons=_list(_argument(ids), 1, 3), objections=_list(objection, 1, 2),
                    gaps=_list(SHORT, 0, 3))
    if mode == "rebut":
        point = _obj(point=CLAIM, reasoning=REASONING, evidence=_evidence(ids))
        return _obj(assumptions=_list(SHORT, 1, 3), weak_points=_list(point, 1, 3),
                    concessions=_list(_obj(point=CLAIM, evidence=_evidence(ids)), 0, 2), speech=_text(900))
    raise ValueError(f"unknown mode {mode!r}")


# -- staged steps: one small schema per step ---------------------------------------------

STEP_CLAIM, STEP_REASONING = _text(140), _text(220)


def _ids(ids: Sequence[str], lo: int = 1, hi: int = 2) -> Schema:
    return _list({"type": "string", "enum": list(ids)}, lo, min(hi, len(ids)))


def arguments(groups: Sequence[Sequence[str]]) -> Schema:
    """One argument per evidence group (keys a1, a2, ...), each citing only its own group.

    Disjoint enums make evidence reuse across arguments impossible by construction.
    """
    return _obj(**{f"a{i}": _obj(evidence=_ids(g), claim=STEP_CLAIM)
                   for i, g in enumerate(groups, 1)})


def objections(groups: Sequence[Sequence[str]], reply_ids: Sequence[str]) -> Schema:
    """One objection per opposing group, each with a reply that may cite a supporting sentence."""
    def one(g: Sequence[str]) -> Schema:
        props = {"objection": STEP_CLAIM, "evidence": _ids(g), "reply": STEP_REASONING}
        if reply_ids:
            props["reply_evidence"] = _ids(reply_ids, 0, 1)
        return _obj(**props)

    return _obj(**{f"a{i}": one(g) for i, g in enumerate(groups, 1)})


def frame_brief(for_ids: Sequence[str] = (), against_ids: Sequence[str] = ()) -> Schema:
    """Key terms, gaps and, when both sides have arguments, clashes that pair one of each by id."""
    props: dict[str, Schema] = {"key_terms": _list(_obj(term=_text(40), definition=_text(200)), 1, 2)}
    if for_ids and against_ids:
        clash = _obj(**{"for": {"type": "string", "enum": list(for_ids)},
                        "against": {"type": "string", "enum": list(against_ids)}}, decider=_text(220))
        props["clashes"] = _list(clash, 1, 2)
    props["gaps"] = _list(_text(200), 0, 2)
    return _obj(**props)


def frame_steelman() -> Schema:
    return _obj(thesis=_text(300), gaps=_list(_text(200), 0, 2))


def frame_rebut() -> Schema:
    """Assumptions only: the speech is built from the verified cards in code (frames.speech)."""
    return _obj(assumptions=_list(_text(200), 1, 3))


def answer(ids: Sequence[str]) -> Schema:
    """ask: points with evidence from any given sentence; no "covered" flag (code decides it)."""
    return _obj(points=_list(_obj(text=STEP_REASONING, evidence=_ids(ids)), 0, 4),
                gaps={"type": "string", "maxLength": 200})
