"""Records -> text for the terminal, and -> plain dicts for ``--json``."""

from __future__ import annotations

import html
import textwrap
from dataclasses import asdict
from pathlib import Path
from typing import Any

from ..types import Answer, DocumentInfo, IngestReport, Passage, Point, Quote
from ..writing.specs import SECTIONS, SPECS
from .cards import prevalence_text


def passage_dict(p: Passage) -> dict[str, Any]:
    """A passage as JSON: provenance first, then the text."""
    c = p.chunk
    return {
        "rank": p.rank, "score": round(p.score, 6),
        "dense_score": None if p.dense_score is None else round(p.dense_score, 6),
        "lexical_score": None if p.lexical_score is None else round(p.lexical_score, 6),
        "chunk_id": c.chunk_id, "doc_id": c.doc_id, "title": c.title, "source": c.source,
        "chunk": c.index, "start": c.start, "end": c.end, "text": c.text,
    }


def passages_text(passages: list[Passage], *, width: int = 100) -> str:
    """Ranked passages with score, title, chunk number and char offsets."""
    if not passages:
        return "No passages found."
    blocks = []
    for p in passages:
        c = p.chunk
        head = (f"{p.rank}. [{p.score:.3f}] {c.title} — chunk {c.index}, chars {c.start}–{c.end}"
                f"  ({Path(c.source).name}, {c.doc_id})")
        body = textwrap.fill(" ".join(c.text.split()), width=width, initial_indent="   ",
                             subsequent_indent="   ")
        blocks.append(f"{head}\n{body}")
    return "\n\n".join(blocks)


def documents_text(docs: list[DocumentInfo]) -> str:
    if not docs:
        return "The index is empty: add files with `assistant ingest PATH`."
    rows = [f"{d.doc_id}  {d.chunks:>5} chunks  {d.chars:>8} chars  {d.title}  ({Path(d.source).name})"
            for d in docs]
    total = sum(d.chunks for d in docs)
    return "\n".join(rows + [f"{len(docs)} documents, {total} chunks"])


def ingest_text(r: IngestReport) -> str:
    """One line per file (and per entry a folder walk passed over), then the counts.

    The summary names the skipped entries and, as one number, the files left out for their type:
    ``2 added, 0 replaced, 0 unchanged; 9 chunks embedded in 1.2 s; 1 skipped; 3 files of other types ignored``.
    """
    lines = [f"added     {d.doc_id}  {d.chunks:>4} chunks  {d.title}" for d in r.added]
    lines += [f"replaced  {d.doc_id}  {d.chunks:>4} chunks  {d.title}" for d in r.replaced]
    lines += [f"unchanged {d.doc_id}  {d.chunks:>4} chunks  {d.title}" for d in r.unchanged]
    lines += [f"skipped   {s.path}  ({s.reason})" for s in r.skipped]
    summary = (f"{len(r.added)} added, {len(r.replaced)} replaced, {len(r.unchanged)} unchanged; "
               f"{r.chunks_written} chunks embedded in {r.seconds:.1f} s")
    if r.skipped:
        summary += f"; {len(r.skipped)} skipped"
    if r.ignored:
        summary += f"; {r.ignored} file{'s' if r.ignored != 1 else ''} of other types ignored (not .txt .md .pdf .html)"
    return "\n".join([*lines, summary])


def ingest_dict(r: IngestReport) -> dict[str, Any]:
    """The report as JSON: ``skipped`` is a list of ``{"path", "reason"}``, ``ignored`` a count."""
    return asdict(r)


# -- answers -------------------------------------------------------------------



def _cites(quotes: tuple[Quote, ...], links: bool) -> str:
    """Citation markers; with ``links`` they point at the UI's sources panel (``#src-P<n>``)."""
    nums = sorted({q.passage for q in quotes if q.verified and q.passage})
    return "".join(f"[[P{n}]](#src-P{n})" if links else f"[P{n}]" for n in nums)


# Sections whose evidence must support the request (the rest must oppose it); a reply answers an objection.
SUPPORTING = {key for key, s in SECTIONS.items() if s.supports} | {"reply"}


def stance_note(section: str, q: Quote) -> str:
    """' · supports' / ' · opposes' when the stance step labelled the quote the way its section needs."""
    if not q.stance or section == "answer":
        return ""
    wanted = "support" if section in SUPPORTING else "oppose"
    by = " (side set by you)" if q.corrected else ""
    if q.stance == wanted:
        return f" · {'supports' if wanted == 'support' else 'opposes'} the request{by}"
    return f" · ⚠ stance check: {q.stance}{by}"


def _quote_lines(quotes: tuple[Quote, ...], indent: str = "   ", section: str = "") -> list[str]:
    lines = []
    for q in quotes:
        if q.verified:
            lines.append(f"{indent}> “{q.text}” — [P{q.passage}] *{q.title}*, chars {q.start}–{q.end} "
                         f"✓ verbatim{stance_note(section, q)}")
        else:
            lines.append(f"{indent}⚠ unverified citation dropped: `{q.ref}` ({q.reason})")
    return lines


def extractive(p: Point) -> bool:
    """An answer point that is its own quote: shown as the quote under a one-line lead, not twice."""
    from ..writing.gates import is_copy

    quotes = p.verified_quotes
    return p.section == "answer" and len(quotes) == 1 and is_copy(p.text, [quotes[0].text])


def _point_lines(n: int, p: Point, links: bool) -> list[str]:
    if extractive(p):
        return [f"{n}. In *{p.verified_quotes[0].title}*: {_cites(p.quotes, links)}".rstrip(),
                *_quote_lines(p.quotes, section=p.section)]
    flag = "" if p.verified_quotes or p.section == "objection" else " ⚠ *no verified evidence*"
    lines = [f"{n}. **{p.text}** {_cites(p.quotes, links)}{flag}".rstrip()]
    if p.prevalence:
        lines.append(f"   *{prevalence_text(p)}*")
    if p.reasoning:
        lines.append(f"   {p.reasoning}")
    lines += _quote_lines(p.quotes, section=p.section)
    if p.reply:
        lines.append(f"   *Reply:* {p.reply} {_cites(p.reply_quotes, links)}".rstrip())
        lines += _quote_lines(p.reply_quotes, "      ", section="reply")
    return lines


def _field_lines(a: Answer) -> tuple[list[str], list[str]]:
    """Mode prose before and after the points."""
    before: list[str] = []
    after: list[str] = []
    if a.key_terms:
        before += ["**Key terms**", *[f"- *{t.term}*: {t.definition}" for t in a.key_terms], ""]
    if a.thesis:
        before += [f"**Thesis.** {a.thesis}", ""]
    if a.assumptions:
        before += ["**Assumptions the claim rests on**", *[f"- {x}" for x in a.assumptions], ""]
    if a.clashes:
        after += ["## Main clashes", *[f"- **{c.issue}** — decided by: {c.decider}" for c in a.clashes], ""]
    if a.speech:
        after += ["## Rebuttal speech", a.speech, ""]
    if a.gaps:
        after += ["## What the sources do not cover", *[f"- {g}" for g in a.gaps], ""]
    return before, after


# What a check mark means, said wherever one is shown: checked in code (cite.py), nothing more.
VERBATIM = ("✓ verbatim: the quoted text is exactly what the stored document holds at those character offsets; "
            "it is not a judgement that the quote supports the claim.")
# What a side note (" · supports the request") means, said wherever one is shown: the stance step's reading.
SIDES = ("Sides (“supports” / “opposes” the request) are the model's reading of each sentence, not a check: "
         "on essay sentences of known side it filed about one in three of those it decided under the wrong side "
         "(docs/evaluation.md). Read the sentence before you read it aloud as evidence for a side; to correct one, "
         "use “Correct a side” on the page or `assistant sides set` (later answers to the request keep it).")


def answer_markdown(a: Answer, *, links: bool = False) -> str:
    """The whole answer as Markdown: prose, points with verified quotes, sources, verification."""
    lines = [f"# {SPECS[a.mode].title}: {a.request}", ""]
    lines += [f"> **Note:** {n}" for n in a.notices] + ([""] if a.notices else [])
    before, after = _field_lines(a)
    lines += before
    for section in SECTIONS.values():
        points = [p for p in a.points if p.section == section.key]
        if points:
            lines += [f"## {section.heading}" if a.mode != "ask" else ""]
            for n, p in enumerate(points, 1):
                lines += _point_lines(n, p, links)
            lines.append("")
    lines += after
    if a.passages:
        lines += ["## Sources"]
        lines += [f"- [P{n}] *{p.chunk.title}* — chunk {p.chunk.index}, chars {p.chunk.start}–{p.chunk.end} "
                  f"({Path(p.chunk.source).name})" for n, p in enumerate(a.passages, 1)]
        lines.append("")
    t = a.timings
    lines.append(f"*{a.verified_count} quotes verified, {a.rejected_count} unverified dropped · model {a.model} · "
                 f"retrieval {t.retrieval_ms:.0f} ms, {t.prompt_tokens} prompt tokens, first token "
                 f"{t.ttft_ms / 1000:.1f} s, {t.generated_tokens} tokens at {t.tokens_per_s:.1f}/s, "
                 f"total {t.total_ms / 1000:.1f} s*")
    if a.verified_count:
        lines.append(f"\n*{VERBATIM}*")
    if any(stance_note(p.section, q) and not q.corrected for p in a.points for q in p.verified_quotes):
        lines.append(f"\n*{SIDES}*")
    return "\n".join(lines).replace("\n\n\n", "\n\n").strip() + "\n"


def quote_dict(q: Quote) -> dict[str, Any]:
    return {"ref": q.ref, "verified": q.verified, "reason": q.reason, "passage": q.passage,
            "doc_id": q.doc_id, "title": q.title, "start": q.start, "end": q.end, "text": q.text,
            "stance": q.stance, "corrected": q.corrected}


def answer_dict(a: Answer) -> dict[str, Any]:
    """The whole structure for --json: request, passages, claims, quotes, timings."""
    t = a.timings
    return {
        "mode": a.mode, "request": a.request, "model": a.model, "covered": a.covered, "notices": list(a.notices),
        "passages": [{"id": f"P{n}", **passage_dict(p)} for n, p in enumerate(a.passages, 1)],
        "claims": [{"side": p.section, "text": p.text, "reasoning": p.reasoning,
                    "citations": sorted({f"P{q.passage}" for q in p.quotes if q.verified}),
                    "quotes": [quote_dict(q) for q in p.quotes], "reply": p.reply,
                    "reply_quotes": [quote_dict(q) for q in p.reply_quotes],
                    **({"prevalence": asdict(p.prevalence)} if p.prevalence else {})} for p in a.points],
        "key_terms": [asdict(t) for t in a.key_terms], "clashes": [asdict(c) for c in a.clashes],
        "gaps": list(a.gaps), "thesis": a.thesis, "assumptions": list(a.assumptions), "speech": a.speech,
        "gates": asdict(a.gates),
        "sentences": [{"id": x.sid, "passage": x.passage, "doc_id": x.doc_id, "start": x.start, "end": x.end,
                       "stance": dict(a.stances).get(x.sid, "")} for x in a.sentences],
        "verification": {"verified": a.verified_count, "unverified": a.rejected_count},
        "timings": {"retrieval_ms": round(t.retrieval_ms, 1), "prompt_tokens": t.prompt_tokens,
                    "ttft_ms": round(t.ttft_ms, 1), "generated_tokens": t.generated_tokens,
                    "tokens_per_s": round(t.tokens_per_s, 2), "total_ms": round(t.total_ms, 1)},
    }


# -- HTML for the sources panel ---------------------------------------------------


def sources_html(a: Answer) -> str:
    """Cited passages with the quoted spans highlighted and verified marks; anchors ``src-P<n>``."""
    if not a.passages:
        return "<p class='src-empty'>No sources for this answer.</p>"
    spans: dict[int, list[Quote]] = {}
    for q in a.quotes:
        if q.verified and q.passage:
            spans.setdefault(q.passage, []).append(q)
    rejected = [q for q in a.quotes if not q.verified]
    blocks = []
    for n, p in enumerate(a.passages, 1):
        c = p.chunk
        cited = spans.get(n, [])
        mark = f"<span class='src-ok' title='{html.escape(VERBATIM)}'>✓ {len(cited)} verbatim quote(s)</span>" \
            if cited else \
            "<span class='src-none'>not cited</span>"
        blocks.append(
            f"<div class='src' id='src-P{n}'><div class='src-head'><b>[P{n}]</b> {html.escape(c.title)} "
            f"— chunk {c.index}, chars {c.start}–{c.end} {mark}</div>"
            f"<div class='src-text'>{_highlight(c.text, c.start, cited)}</div></div>"
        )
    if rejected:
        items = "".join(f"<li><code>{html.escape(q.ref)}</code>: {html.escape(q.reason)}</li>" for q in rejected)
        blocks.append(f"<div class='src-bad'><b>⚠ Unverified citations (dropped)</b><ul>{items}</ul></div>")
    blocks.append(f"<p class='src-none'>{html.escape(VERBATIM)}</p>")
    return "\n".join(blocks)


def _highlight(text: str, offset: int, quotes: list[Quote]) -> str:
    """Escape ``text`` and wrap each verified quote span in ``<mark>``."""
    ranges = sorted({(q.start - offset, q.end - offset) for q in quotes if 0 <= q.start - offset < len(text)})
    out, pos = [], 0
    for start, end in ranges:
        if start < pos:
            continue
        out += [html.escape(text[pos:start]), f"<mark>{html.escape(text[start:end])}</mark>"]
        pos = end
    out.append(html.escape(text[pos:]))
    return "".join(out)
