"""Answer -> a printable PDF brief of cards, with fpdf2.

Same outline as the DOCX (request, sides, arguments, cards with tag / cite /
verbatim body) and a list of sources with their cites. Cited sentences are
bold, underlined and highlighted: a yellow box drawn under each word in
"multiply" blend mode, so it prints like a highlighter (printed content, not
an annotation a viewer might hide).

Why fpdf2: pure Python (no Cairo/Pango system libraries as weasyprint
needs), embeds TrueType fonts so curly quotes, accents, Greek or Cyrillic
print correctly, and writes a real text layer that pypdf can extract. The
font is DejaVu Sans from Debian's ``fonts-dejavu-core`` (scripts/setup.sh);
``ASSISTANT_PDF_FONT_DIR`` points elsewhere. Not handled: CJK scripts
(DejaVu has no CJK glyphs), right-to-left shaping. fpdf2 is imported here
only, lazily.
"""

from __future__ import annotations

import os
import re
from pathlib import Path
from typing import Any

from ..errors import AssistantError
from ..types import Answer
from .cards import Card, DocLookup, Outline, outline

FONT_DIRS = ("/usr/share/fonts/truetype/dejavu", "/usr/share/fonts/dejavu", "/usr/local/share/fonts")
FONT = "DejaVu"
LINE = 5.0  # mm per line of body text


def font_files() -> tuple[Path, Path]:
    """DejaVuSans.ttf and DejaVuSans-Bold.ttf, or an error saying how to get them."""
    dirs = [os.environ["ASSISTANT_PDF_FONT_DIR"]] if os.environ.get("ASSISTANT_PDF_FONT_DIR") else []
    for folder in map(Path, [*dirs, *FONT_DIRS]):
        regular, bold = folder / "DejaVuSans.ttf", folder / "DejaVuSans-Bold.ttf"
        if regular.is_file() and bold.is_file():
            return regular, bold
    raise AssistantError("PDF export needs the DejaVu Sans font: install Debian's fonts-dejavu-core "
                         "(or set ASSISTANT_PDF_FONT_DIR to a folder holding DejaVuSans.ttf)")


def render(answer: Answer, documents: DocLookup | None = None) -> bytes:
    """The answer as PDF bytes."""
    from fpdf import FPDF

    regular, bold = font_files()
    pdf = FPDF(format="A4")
    pdf.set_margins(18, 16, 18)
    pdf.set_auto_page_break(True, margin=16)
    pdf.add_font(FONT, "", str(regular))
    pdf.add_font(FONT, "B", str(bold))
    pdf.set_title(answer.request)
    pdf.set_creator("debate-assistant")
    pdf.add_page()
    _write(pdf, outline(answer, documents))
    return bytes(pdf.output())


def _text(pdf: Any, text: str, size: float, style: str = "", *, h: float = LINE, gap: float = 1.0) -> None:
    pdf.set_font(FONT, style, size)
    pdf.multi_cell(0, h, text, align="L", new_x="LMARGIN", new_y="NEXT")
    pdf.ln(gap)


def _write(pdf: Any, o: Outline) -> None:
    _text(pdf, o.pocket, 17, "B", h=8, gap=3)
    for notice in o.notices:
        _text(pdf, f"Note: {notice}", 9)
    _labelled(pdf, o.intro)
    for hat in o.hats:
        pdf.ln(2)
        _text(pdf, hat.heading, 14, "BU", h=7, gap=2)
        for block in hat.blocks:
            _text(pdf, block.heading, 12, "B", h=6, gap=1.5)
            for item in block.items:
                _card(pdf, item) if isinstance(item, Card) else _text(pdf, item, 10)
    _labelled(pdf, o.outro)
    if o.sources:
        pdf.ln(2)
        _text(pdf, "Sources", 14, "BU", h=7, gap=2)
        for cite in o.sources:
            _cite_line(pdf, cite.short, cite.rest)
    pdf.ln(3)
    _text(pdf, o.footer, 8)


def _labelled(pdf: Any, parts: tuple[tuple[str, tuple[str, ...]], ...]) -> None:
    for label, lines in parts:
        _text(pdf, label, 11, "B", gap=0.5)
        for line in lines:
            _text(pdf, f"• {line}" if len(lines) > 1 else line, 10)


def _cite_line(pdf: Any, short: str, rest: str, warn: str = "") -> None:
    pdf.set_font(FONT, "B", 11)
    pdf.write(LINE, short + " ")
    pdf.set_font(FONT, "", 9)
    pdf.write(LINE, rest)
    if warn:
        pdf.set_font(FONT, "B", 9)
        pdf.set_text_color(180, 35, 24)
        pdf.write(LINE, f" {warn}")
        pdf.set_text_color(0, 0, 0)
    pdf.ln(LINE + 1)


def _card(pdf: Any, card: Card) -> None:
    """Tag (bold), cite, then the passage with its cited sentences marked."""
    _text(pdf, card.tag, 11, "B", gap=0.5)
    if card.cite is None:
        return
    _cite_line(pdf, card.cite.short, card.cite.rest,
               "[source changed since this answer was saved]" if card.changed else "")
    for text, cited in card.body:
        pdf.set_font(FONT, "BU" if cited else "", 10 if cited else 9)
        _highlighted(pdf, text) if cited else pdf.write(LINE, text)
    pdf.ln(LINE + 2.5)


def _highlighted(pdf: Any, text: str) -> None:
    """Write ``text`` word by word, boxing each word (and its trailing space) in highlighter yellow."""
    for word in re.findall(r"\S+[ \t]*|\s+", text):  # line breaks are tokens of their own
        page, x, y = pdf.page, pdf.get_x(), pdf.get_y()
        pdf.write(LINE, word)
        if pdf.page != page or pdf.get_y() != y:  # wrapped: the word starts the new line
            x, y = pdf.l_margin, pdf.get_y()
        if pdf.get_x() > x and word.strip():
            with pdf.local_context(blend_mode="Multiply", fill_color=(255, 235, 80)):
                pdf.rect(x, y + 0.3, pdf.get_x() - x, LINE - 0.3, style="F")
