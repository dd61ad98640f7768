"""Small helpers every write step shares: a model's field as clean prose, its list items, its ids as quotes."""

from __future__ import annotations

from dataclasses import replace
from typing import Any

from ..types import Quote
from .cite import verify
from .gates import scrub
from .steps import Context


def clip(text: str, words: int = 30) -> str:
    parts = text.split()
    return " ".join(parts[:words]) + (" ..." if len(parts) > words else "")


def quotes(ctx: Context, ids: object, allowed: set[str]) -> tuple[Quote, ...]:
    """Verified quotes for the ids the model picked, limited to ``allowed``; marks them used."""
    picked = [i for i in (ids if isinstance(ids, list) else []) if isinstance(i, str) and i in allowed]
    picked = [i for i in dict.fromkeys(picked) if i not in ctx.used]
    ctx.used.update(picked)
    found = verify(picked, ctx.sentences, ctx.passages, ctx.doc_text)
    return tuple(with_stance(ctx, q) for q in found)


def with_stance(ctx: Context, q: Quote) -> Quote:
    """The quote with its sentence's stance, and whether a user set it."""
    st = ctx.stances.get(q.ref)
    return replace(q, stance=st.label, corrected=st.corrected) if st is not None else q


def prose(ctx: Context, text: object) -> str:
    cleaned, changed = scrub(str(text or "").strip())
    if changed:
        ctx.count("ids_in_prose_repaired")
    return cleaned


def items(data: dict[str, Any], key: str) -> list[Any]:
    value = data.get(key)
    return value if isinstance(value, list) else []
