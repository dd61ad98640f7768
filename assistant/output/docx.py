"""Answer -> a Verbatim-compatible Word file (.docx) of cards, with python-docx.

Verbatim (the paperless-debate Word template) keeps its organising levels as
Word's built-in headings with aliases, so the Navigation Pane shows the
outline: ``heading 1`` = Pocket, ``heading 2`` = Hat, ``heading 3`` = Block,
``heading 4`` = Tag. Its character styles are ``Style 13 pt Bold`` (alias
Cite), ``Style Underline`` (alias Underline) and ``Emphasis``; highlighting
is direct run formatting. We write the same style names and aliases, so a
file opened under Verbatim takes the user's own formatting on its
style update. Card bodies are the stored passage verbatim; the cited
sentences are in the Underline style and highlighted yellow.

Not handled: Verbatim's macros, shrinking unread text, pilcrow condensing.
python-docx is imported here only, lazily.
"""

from __future__ import annotations

import io
from typing import Any

from ..types import Answer
from .cards import Card, DocLookup, Outline, outline

# (built-in heading, Verbatim alias, Verbatim's default size in pt)
LEVELS = (("Heading 1", "Pocket", 26), ("Heading 2", "Hat", 22), ("Heading 3", "Block", 16),
          ("Heading 4", "Tag", 13))
CITE = "Style 13 pt Bold"  # alias "Cite"
UNDERLINE = "Style Underline"  # alias "Underline"
EMPHASIS = "Emphasis"


def render(answer: Answer, documents: DocLookup | None = None) -> bytes:
    """The answer as .docx bytes."""
    from docx import Document

    doc = Document()
    _styles(doc)
    props = doc.core_properties
    props.title, props.author, props.last_modified_by, props.comments = answer.request, "", "", ""
    _write(doc, outline(answer, documents))
    out = io.BytesIO()
    doc.save(out)
    return out.getvalue()


def _styles(doc: Any) -> None:
    """Verbatim's style names: aliases on the built-in headings, plus Cite, Underline and Emphasis."""
    from docx.enum.style import WD_STYLE_TYPE
    from docx.shared import Pt, RGBColor

    styles = doc.styles
    _alias(styles["Normal"], "Normal/Card")
    for name, alias, size in LEVELS:
        style = styles[name]
        _alias(style, alias)
        style.font.size, style.font.bold, style.font.italic = Pt(size), True, False
        style.font.color.rgb = RGBColor(0, 0, 0)
    for name, alias, size, bold, underline in ((CITE, "Cite", 13, True, False),
                                               (UNDERLINE, "Underline", 11, False, True),
                                               (EMPHASIS, "", 11, True, True)):
        try:
            style = styles[name]
        except KeyError:
            style = styles.add_style(name, WD_STYLE_TYPE.CHARACTER)
        if alias:
            _alias(style, alias)
        style.font.size, style.font.bold, style.font.underline, style.font.italic = Pt(size), bold, underline, False


def _alias(style: Any, alias: str) -> None:
    """Set ``<w:aliases>`` (right after ``<w:name>``, as the schema orders it)."""
    from docx.oxml import OxmlElement
    from docx.oxml.ns import qn

    el = style.element.find(qn("w:aliases"))
    if el is None:
        el = OxmlElement("w:aliases")
        style.element.find(qn("w:name")).addnext(el)
    el.set(qn("w:val"), alias)


def _write(doc: Any, o: Outline) -> None:
    doc.add_paragraph(o.pocket, style="Heading 1")
    for notice in o.notices:
        doc.add_paragraph().add_run(f"Note: {notice}").italic = True
    _labelled(doc, o.intro)
    for hat in o.hats:
        doc.add_paragraph(hat.heading, style="Heading 2")
        for block in hat.blocks:
            doc.add_paragraph(block.heading, style="Heading 3")
            for item in block.items:
                _card(doc, item) if isinstance(item, Card) else doc.add_paragraph(item)
    _labelled(doc, o.outro)
    if o.sources:
        doc.add_paragraph().add_run("Sources").bold = True
        for cite in o.sources:
            p = doc.add_paragraph()
            p.add_run(cite.short, style=CITE)
            p.add_run(f" {cite.rest}")
    doc.add_paragraph().add_run(o.footer).italic = True


def _labelled(doc: Any, parts: tuple[tuple[str, tuple[str, ...]], ...]) -> None:
    for label, lines in parts:
        doc.add_paragraph().add_run(label).bold = True
        for line in lines:
            doc.add_paragraph(line, style="List Bullet" if len(lines) > 1 else None)


def _card(doc: Any, card: Card) -> None:
    """Tag, cite, body: the three paragraphs Verbatim's macros expect."""
    from docx.enum.text import WD_COLOR_INDEX
    from docx.shared import RGBColor

    doc.add_paragraph(card.tag, style="Heading 4")
    if card.cite is None:
        return  # an analytic: the tag alone
    cite = doc.add_paragraph()
    cite.add_run(card.cite.short, style=CITE)
    cite.add_run(f" {card.cite.rest}")
    if card.changed:
        warn = cite.add_run(" [source changed since this answer was saved]")
        warn.bold, warn.font.color.rgb = True, RGBColor(0xB4, 0x23, 0x18)
    body = doc.add_paragraph()
    for text, cited in card.body:
        run = body.add_run(text, style=UNDERLINE if cited else None)
        if cited:
            run.font.highlight_color = WD_COLOR_INDEX.YELLOW
