"""The page's "Correct a side": set the side of a card of the answer on screen (``output/sides.py``).

The stance step is the model's reading and can file a card under the wrong
side, or leave out a sentence that argues one. Here the user picks one of the
last answer's cards, or another sentence its model read (the chat's answer,
or one opened from History), and says which side it is on; the side is kept
in the library and every later answer to the same request takes it, reads
the sentence wherever retrieval ranks it, and marks the card "side set by
you". Ask answers have no sides, so they offer nothing.
Several sentences on one side are set in one go (the dropdown takes many). "Clear" forgets a side
set earlier. Not handled: listing every side set (``assistant sides list``).
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any, NamedTuple

from ..api import Assistant
from ..errors import AssistantError
from ..output.sides import SAID, short
from ..types import Answer, Quote

# The radio's choices and the side each stands for (output/sides.py reads for / against / neither).
CHOICES = {"For: it supports the request": "for", "Against: it opposes the request": "against",
           "Neither: not evidence for a side": "neither", "Clear: the model reads its side again": "clear"}
SHOWN = {"support": "FOR", "oppose": "AGAINST", "neutral": "neither", "": "no side"}


def cards(answer: Answer | None) -> list[Quote]:
    """The verified quotes of ``answer`` (its cards), each sentence once, in the answer's order."""
    if answer is None or answer.mode == "ask":
        return []
    seen: dict[str, Quote] = {}
    for p in answer.points:
        for q in (*p.quotes, *p.reply_quotes):
            if q.verified and q.text and q.ref not in seen:
                seen[q.ref] = q
    return list(seen.values())


class Readable(NamedTuple):
    """A sentence the user may give a side: its text, its side now, whether the user set it, its title."""

    text: str
    side: str
    by_user: bool
    title: str


def sentences(answer: Answer | None) -> dict[str, Readable]:
    """Every sentence the answer's model read that may be given a side, by ref.

    The cards first (``cards``), then the other sentences of the sources block in order, with the
    stance step's label: a sentence that should have been a card can be set too.
    """
    out = {q.ref: Readable(q.text, q.stance, q.corrected, q.title) for q in cards(answer)}
    if answer is not None and answer.mode != "ask":
        stances = dict(answer.stances)
        for s in answer.sentences:
            if s.text and s.sid not in out:
                out[s.sid] = Readable(s.text, stances.get(s.sid, ""), False, s.title)
    return out


def card_choices(session: Any) -> list[tuple[str, str]]:
    """(label, ref) for the dropdown: cards, then the other sentences read; side now, then the first words."""
    answer = getattr(session, "last", None)
    carded = {q.ref for q in cards(answer)}
    out = []
    for ref, r in sentences(answer).items():
        by = ", set by you" if r.by_user else ""
        kind = "card" if ref in carded else "read"
        out.append((f"[{kind}: {SHOWN.get(r.side, r.side)}{by}] “{short(r.text)}” ({r.title})", ref))
    return out


def save_side(a: Assistant, session: Any, refs: str | Sequence[str] | None, choice: str | None) -> str:
    """Keep the chosen side for each chosen sentence (one or several), or clear it; a short message either way.

    The picks and the side are checked before anything is kept: a bad pick stores nothing.
    """
    answer = getattr(session, "last", None)
    found = sentences(answer)
    if answer is None or not found:
        return "⚠ Run a brief, steelman, rebuttal or overview first: sides belong to its cards."
    picked = [refs] if isinstance(refs, str) else list(dict.fromkeys(refs or []))
    if not picked or any(r not in found for r in picked):
        return "⚠ Choose a card or sentence of the last answer first."
    if choice not in CHOICES:
        return "⚠ Choose the side it is on."
    side = CHOICES[choice]
    done: list[Any] = []
    try:
        for ref in picked:
            if side != "clear":
                done.append(a.set_side(answer.request, found[ref].text, side))
            elif a.clear_side(answer.request, found[ref].text):
                done.append(ref)
    except AssistantError as exc:
        kept = f" ({len(done)} of {len(picked)} done before it)" if done else ""
        return f"⚠ {exc}{kept}"
    if side == "clear":
        if not done:
            return "No side was set for " + ("that sentence" if len(picked) == 1 else "those sentences") + \
                " and this request; nothing changed."
        if len(picked) == 1:
            return "✓ Cleared: the model reads that sentence's side again in later answers."
        return f"✓ Cleared {len(done)} of {len(picked)}: the model reads their sides again in later answers."
    if len(done) == 1:
        return f"✓ Saved: {done[0].describe()}. Send the request again to see it filed there."
    return (f"✓ Saved {len(done)} sentences: each {SAID[done[0].side]} “{short(answer.request)}”. "
            "Send the request again to see them filed there.")


def sides_panel(a: Assistant, session: Any) -> Any:
    """Build the panel (call inside the Blocks); returns its card dropdown, to refresh after each answer."""
    import gradio as gr

    with gr.Accordion("Correct a side", open=False, elem_id="sides"):
        gr.Markdown("Sides are the model's reading. If a card is under the wrong side, or a sentence the model "
                    "read should have been a card, pick it (or several on the same side) and say where it belongs: "
                    "every later answer to this request keeps your side and reads that sentence.")
        with gr.Row():
            card = gr.Dropdown([], multiselect=True, label="Cards or sentences of the last answer (one or more)",
                               elem_id="side-card")
            choice = gr.Radio(list(CHOICES), label="It is", elem_id="side-choice")
        save = gr.Button("Save this side", elem_id="side-save")
        status = gr.Markdown(elem_id="side-status")
    save.click(lambda s, r, c: save_side(a, s, r, c), [session, card, choice], status, api_name="set_side")
    return card


def refresh(session: Any) -> Any:
    """The dropdown with the last answer's cards (none chosen)."""
    import gradio as gr

    return gr.Dropdown(choices=card_choices(session), value=[])
