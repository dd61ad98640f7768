"""Exports: Verbatim-compatible DOCX read back with python-docx, PDF text extraction, provenance."""

from __future__ import annotations

import json
import sqlite3
from pathlib import Path

import pytest

from assistant import Assistant, Settings
from assistant.errors import InputError
from assistant.index.store import Store
from assistant.output.docx import CITE, UNDERLINE
from assistant.output.export import export
from assistant.types import Answer, Chunk, Document, Passage, Point, Quote
from tests.conftest import write
from tests.fakes import FakeEmbedder
from tests.library_support import citing_assistant, run_cli

MOTION = "Remote work makes companies more productive in the age of AI"


@pytest.fixture
def library(seeded_index: Path, tmp_path: Path, real_embedder) -> Assistant:  # type: ignore[no-untyped-def]
    return citing_assistant(seeded_index, tmp_path, real_embedder)


def _aliases(style) -> str:  # type: ignore[no-untyped-def]
    from docx.oxml.ns import qn

    el = style.element.find(qn("w:aliases"))
    return "" if el is None else el.get(qn("w:val"))


def _cards(doc) -> list[tuple[str, object, object]]:  # type: ignore[no-untyped-def]
    """(tag, cite paragraph, body paragraph) for every Heading 4 followed by a cite."""
    paras = doc.paragraphs
    out = []
    for i, p in enumerate(paras[:-2]):
        if p.style.name == "Heading 4" and paras[i + 1].runs and paras[i + 1].runs[0].style.name == CITE:
            out.append((p.text, paras[i + 1], paras[i + 2]))
    return out


@pytest.mark.integration
def test_brief_docx_has_verbatim_styles_and_verbatim_card_bodies(library: Assistant, tmp_path: Path) -> None:
    import docx
    from docx.enum.style import WD_STYLE_TYPE

    answer = library.brief(MOTION)
    assert answer.verified_count >= 2
    path = library.export(answer, tmp_path / "brief.docx")
    doc = docx.Document(str(path))

    styles = doc.styles
    assert [_aliases(styles[f"Heading {n}"]) for n in (1, 2, 3, 4)] == ["Pocket", "Hat", "Block", "Tag"]
    assert _aliases(styles[CITE]) == "Cite" and styles[CITE].type == WD_STYLE_TYPE.CHARACTER
    assert _aliases(styles[UNDERLINE]) == "Underline" and styles[CITE].font.bold
    assert doc.paragraphs[0].style.name == "Heading 1" and doc.paragraphs[0].text == MOTION
    hats = [p.text for p in doc.paragraphs if p.style.name == "Heading 2"]
    assert hats == ["FOR the motion", "AGAINST the motion"]

    cards = _cards(doc)
    claims = {p.text for p in answer.points if p.verified_quotes}
    assert cards and {tag for tag, _, _ in cards} == claims
    quotes = {q.text for q in answer.quotes if q.verified}
    for _tag, cite, body in cards:
        assert cite.runs[0].text.strip()  # the short cite (Cite style)
        stored = [library.document(d.doc_id).text for d in library.documents()]
        assert any(body.text in text for text in stored), "card body is not verbatim in a stored document"
        marked = [r for r in body.runs if r.font.highlight_color is not None]
        assert marked and all(r.style.name == UNDERLINE and r.text in quotes for r in marked)
        assert "".join(r.text for r in body.runs) == body.text


@pytest.mark.integration
def test_rebut_exports_as_an_a2_block_with_numbered_answers(library: Assistant, tmp_path: Path) -> None:
    import docx

    answer = library.rebut("Working from home is not proper work")
    doc = docx.Document(str(library.export(answer, tmp_path / "rebut.docx")))
    blocks = [p.text for p in doc.paragraphs if p.style.name == "Heading 3"]
    assert blocks[0] == "A2: Working from home is not proper work"
    tags = [p.text for p in doc.paragraphs if p.style.name == "Heading 4"]
    assert tags and tags[0].startswith("1. ")  # the A2 block's answers are numbered 1, 2, ...
    numbers = [int(t.split(". ", 1)[0]) for t in tags if t.split(". ", 1)[0].isdigit()]
    assert numbers == list(range(1, len(numbers) + 1))


@pytest.mark.integration
def test_brief_pdf_text_extracts_with_cites_and_quotes(library: Assistant, tmp_path: Path) -> None:
    from pypdf import PdfReader

    answer = library.brief(MOTION)
    path = library.export(answer, tmp_path / "brief.pdf")
    assert path.read_bytes().startswith(b"%PDF")
    text = " ".join("\n".join(p.extract_text() for p in PdfReader(str(path)).pages).split())
    assert MOTION in text and "FOR the motion" in text and "AGAINST the motion" in text and "Sources" in text
    squeezed = "".join(text.split())  # PDF text extraction may split a word at a highlight box
    for q in answer.quotes:
        if q.verified:
            assert "".join(q.text.split()) in squeezed


def _unicode_answer() -> tuple[Answer, Document]:
    body = "Intro line. The cited “sentence” — naïve Ελληνικά кириллица.\n\nAnother paragraph."
    doc = Document("d1", "/x/essay.md", "An Essay", "PRE" + body, author="Jane Smith", date="2024-03-05",
                   url="https://example.org/essay", qualifications="Professor of Economics", accessed="2026-01-02")
    s = body.index("The cited")
    q = Quote("S2", True, passage=1, chunk_id="c1", doc_id="d1", title="An Essay", start=3 + s,
              end=3 + body.index("\n"), text=body[s:body.index("\n")])
    chunk = Chunk("c1", "d1", "An Essay", "/x/essay.md", 0, 3, 3 + len(body), body)
    answer = Answer("brief", "A motion", "fake", (Passage(chunk, 1.0, 1),),
                    (Point("for", "Claim one.", "Because.", (q, Quote("S9", False, reason="not given"))),))
    return answer, doc


def test_unicode_quotes_print_in_the_pdf_and_cite_is_complete(tmp_path: Path) -> None:
    from pypdf import PdfReader

    answer, doc = _unicode_answer()
    path = export(answer, tmp_path / "u.pdf", documents={"d1": doc}.get)
    text = " ".join(PdfReader(str(path)).pages[0].extract_text().split())
    assert "“sentence” — naïve Ελληνικά кириллица." in text
    assert ("Smith 24 [Jane Smith, Professor of Economics, 2024-03-05, “An Essay,” https://example.org/essay, "
            "accessed 2026-01-02]") in text
    assert "S9" not in text  # unverified citations never become cards


def test_json_and_markdown_exports(tmp_path: Path) -> None:
    answer, doc = _unicode_answer()
    data = json.loads(export(answer, tmp_path / "a.json", documents={"d1": doc}.get).read_text())
    assert data["request"] == "A motion" and data["documents"]["d1"]["author"] == "Jane Smith"
    assert export(answer, tmp_path / "a.md").read_text().startswith("# Debate brief: A motion")


def test_markdown_says_what_a_side_note_means_when_one_is_shown(tmp_path: Path) -> None:
    """A side is the model's reading (wrong for about one in three essay sentences it decided): said under the
    brief whenever a quote carries one, and not under an answer without sides."""
    from dataclasses import replace

    from assistant.output.render import SIDES, answer_markdown

    answer, _ = _unicode_answer()
    assert SIDES not in answer_markdown(answer)  # no stance step ran: no side shown
    q = replace(answer.points[0].quotes[0], stance="support")
    sided = replace(answer, points=(replace(answer.points[0], quotes=(q,)),))
    shown = answer_markdown(sided)
    assert "· supports the request" in shown and shown.rstrip().endswith(f"*{SIDES}*")
    assert "· ⚠ stance check: oppose" in answer_markdown(
        replace(sided, points=(replace(sided.points[0], quotes=(replace(q, stance="oppose"),)),)))


def test_unknown_suffix_and_unwritable_path_fail_cleanly(tmp_path: Path) -> None:
    answer, _ = _unicode_answer()
    with pytest.raises(InputError, match="unknown format .txt"):
        export(answer, tmp_path / "a.txt")
    with pytest.raises(InputError, match="cannot write"):
        export(answer, tmp_path / "missing-folder" / "a.docx")
    assert not list(tmp_path.rglob("*.tmp"))


def test_out_suffix_is_checked_before_the_model_runs(tmp_path: Path) -> None:
    code, out, err = run_cli("--model", "no-such-model", "brief", "x", "--out", str(tmp_path / "b.odt"))
    assert code == 2 and err.count("\n") == 1 and "unknown format .odt" in err and not out


# -- provenance ------------------------------------------------------------------------


def test_provenance_from_front_matter_html_and_pdf_metadata(tmp_path: Path) -> None:
    from fpdf import FPDF

    a = Assistant(Settings.load(index_dir=tmp_path / "ix"), embedder=FakeEmbedder())
    write(tmp_path / "d" / "a.md", "---\ntitle: Desk Rent\nauthor: Ana Lopez\ndate: 2023-05-01\n"
          "url: https://ex.org/desk\nquals: Economist at X\npublication: The Ledger\n---\n\nOffices cost money.\n")
    write(tmp_path / "d" / "b.html", '<html><head><title>Site | Page</title><meta name="author" content="Bo Chen">'
          '<meta property="og:site_name" content="Daily Work"><meta property="og:title" content="Hybrid Pays">'
          '<meta property="article:published_time" content="2024-02-03T08:00:00Z">'
          '<link rel="canonical" href="https://daily.example/hybrid"></head><body><p>Hybrid pays.</p></body></html>')
    pdf = FPDF()
    pdf.add_page()
    pdf.set_font("helvetica", size=12)
    pdf.cell(text="Remote teams ship faster.")
    pdf.set_title("Ship Faster")
    pdf.set_author("Cy Dee")
    (tmp_path / "d" / "c.pdf").write_bytes(bytes(pdf.output()))
    a.ingest([tmp_path / "d"], show_progress=False)
    docs = {Path(d.source).name: d for d in a.documents()}
    md, html, pdf_doc = docs["a.md"], docs["b.html"], docs["c.pdf"]
    assert (md.title, md.author, md.date, md.url, md.qualifications, md.publication) == (
        "Desk Rent", "Ana Lopez", "2023-05-01", "https://ex.org/desk", "Economist at X", "The Ledger")
    assert (html.title, html.author, html.date, html.publication, html.url) == (
        "Hybrid Pays", "Bo Chen", "2024-02-03", "Daily Work", "https://daily.example/hybrid")
    assert (pdf_doc.title, pdf_doc.author) == ("Ship Faster", "Cy Dee") and len(pdf_doc.date) == 10
    assert a.document(md.doc_id).accessed == md.added[:10]


def test_meta_command_sets_fields_that_survive_a_reingest(tmp_path: Path) -> None:
    essay = write(tmp_path / "essay.md", "# Essay\n\nRemote work saves commuting time.\n")
    assert run_cli("ingest", str(essay))[0] == 0
    code, out, _ = run_cli("meta", "essay.md", "--author", "Jane Smith", "--date", "2024-03-05",
                           "--url", "https://ex.org/e")
    assert code == 0 and "Jane Smith · 2024-03-05 · https://ex.org/e" in out
    assert "1 unchanged" in run_cli("ingest", str(essay))[1]
    code, out, _ = run_cli("docs")
    assert "Jane Smith · 2024-03-05" in out
    assert essay.read_text() == "# Essay\n\nRemote work saves commuting time.\n"  # the file is untouched
    code, _, err = run_cli("meta", "essay.md")
    assert code == 2 and err.startswith("error: nothing to set")


def test_an_old_index_is_upgraded_once(tmp_path: Path) -> None:
    index = tmp_path / "old"
    index.mkdir()
    db = sqlite3.connect(index / "documents.sqlite")
    db.executescript("""
        CREATE TABLE meta (key TEXT PRIMARY KEY, value TEXT NOT NULL);
        CREATE TABLE documents (doc_id TEXT PRIMARY KEY, source TEXT NOT NULL, title TEXT NOT NULL,
            author TEXT NOT NULL, publication TEXT NOT NULL, date TEXT NOT NULL, text TEXT NOT NULL,
            chunks INTEGER NOT NULL, chunker TEXT NOT NULL, added TEXT NOT NULL);
    """)
    emb = FakeEmbedder()
    db.executemany("INSERT INTO meta VALUES (?, ?)", [("schema", "1"), ("embedder", emb.identity), ("revision", "1")])
    db.execute("INSERT INTO documents VALUES ('d1', '/x/a.md', 'A', 'Ann', '', '2020', 'text', 0, 'c', "
               "'2025-01-01 10:00:00')")
    db.commit()
    db.close()
    for _ in range(2):  # the second open finds nothing to do
        store = Store.open(index, embedder=emb.identity)
        doc = store.document("d1")
        assert (doc.author, doc.url, doc.qualifications, doc.accessed) == ("Ann", "", "", "2025-01-01")
        store.close()
