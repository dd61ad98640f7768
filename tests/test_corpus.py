"""Reading files into documents: formats, metadata, normalisation, bad input."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from assistant.errors import InputError
from assistant.index.corpus import find_files, normalise, read_document, split_front_matter
from tests.conftest import SEEDS, write
from tests.docs_factory import HTML_PAGE, make_pdf

MB = 1_000_000


def test_markdown_front_matter_becomes_metadata_and_is_not_in_text(tmp_path: Path) -> None:
    text = "---\ntitle: A: Colon Title\nauthor: Jo Bloggs\ndate: 2024-01-02\n---\n\nBody text here.\n"
    path = write(tmp_path / "a.md", text)
    doc = read_document(path, max_bytes=MB)
    assert (doc.title, doc.author, doc.date) == ("A: Colon Title", "Jo Bloggs", "2024-01-02")
    assert doc.text == "Body text here.\n"
    assert "---" not in doc.text


def test_text_without_front_matter_takes_first_line_as_title(tmp_path: Path) -> None:
    doc = read_document(write(tmp_path / "note.txt", "My Heading\n\nSome words.\n"), max_bytes=MB)
    assert doc.title == "My Heading"
    assert doc.source == str((tmp_path / "note.txt").resolve())


def test_same_content_same_id_changed_content_new_id(tmp_path: Path) -> None:
    a = read_document(write(tmp_path / "a.txt", "Same words.\n"), max_bytes=MB)
    b = read_document(write(tmp_path / "b.txt", "Same words.\r\n"), max_bytes=MB)
    c = read_document(write(tmp_path / "c.txt", "Other words.\n"), max_bytes=MB)
    assert a.doc_id == b.doc_id != c.doc_id


def test_html_keeps_visible_text_only(tmp_path: Path) -> None:
    doc = read_document(write(tmp_path / "page.html", HTML_PAGE), max_bytes=MB)
    assert doc.title == "Office Mandates Revisited"
    assert "Return-to-office mandates rarely raise output" in doc.text
    assert "results, not presence, report & keep" in doc.text
    assert "tracking" not in doc.text and "color" not in doc.text


def test_pdf_text_layer_is_read(tmp_path: Path) -> None:
    pdf = make_pdf(["Remote teams ship faster.", "Offices cost money."])
    doc = read_document(write(tmp_path / "paper.pdf", pdf), max_bytes=MB)
    assert "Remote teams ship faster." in doc.text
    assert "Offices cost money." in doc.text


def test_normalise_is_idempotent_on_seeds() -> None:
    for path in SEEDS.glob("*.md"):
        text = read_document(path, max_bytes=MB).text
        assert normalise(text) == text


def test_seeds_carry_metadata_the_text_states() -> None:
    docs = {p.stem: read_document(p, max_bytes=MB) for p in SEEDS.glob("*.md")}
    assert len(docs) == 4
    assert docs["back-to-office-big-tech-ai"].author == "Daniel W. Rasmus"
    assert docs["ai-remote-work-offshoring"].date == "2024-11-07"
    for doc in docs.values():
        assert doc.title and "Subscribe to our weekly news digest" not in doc.text
        assert "Invalid Email Address" not in doc.text


def test_seed_bodies_keep_the_essays_wording() -> None:
    raw = {p.name: p.read_text(encoding="utf-8") for p in (SEEDS.parent.parent / "shared" / "seeds").glob("*.txt")}
    if not raw:
        pytest.skip("../shared/seeds not beside the checkout")
    for path in SEEDS.glob("*.md"):
        meta, body = split_front_matter(path.read_text(encoding="utf-8"))
        source = raw[meta["original"]].replace("\r\n", "\n")
        for para in filter(None, (p.strip() for p in body.split("\n\n"))):
            assert para in source, f"{path.name}: paragraph not verbatim: {para[:60]}"


def test_folders_expand_to_supported_files_sorted(tmp_path: Path) -> None:
    write(tmp_path / "d" / "b.md", "b\n")
    write(tmp_path / "d" / "a.txt", "a\n")
    write(tmp_path / "d" / "skip.py", "print()\n")
    write(tmp_path / "d" / "sub" / "c.html", "<p>c</p>")
    assert [p.name for p in find_files([tmp_path / "d"])] == ["a.txt", "b.md", "c.html"]


@pytest.mark.parametrize(
    ("name", "content", "message"),
    [
        ("empty.txt", b"", "no text"),
        ("blank.md", b"   \n\n\t\n", "no text"),
        ("image.txt", b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR" + bytes(range(256)), "binary"),
        ("data.csv", b"a,b\n1,2\n", "unsupported file type .csv"),
        ("noext", b"hello", "unsupported file type (none)"),
        ("latin.txt", bytes([0x81, 0x8D, 0x8F, 0x90, 0x9D]) * 10, "cannot decode"),
        ("broken.pdf", b"%PDF-1.4 this is not really a pdf", "cannot read PDF"),
    ],
)
def test_bad_files_give_one_line_errors(tmp_path: Path, name: str, content: bytes, message: str) -> None:
    path = write(tmp_path / name, content)
    with pytest.raises(InputError, match=re.escape(message)) as info:
        read_document(path, max_bytes=MB)
    assert "\n" not in str(info.value)


def test_missing_and_oversized_files(tmp_path: Path) -> None:
    with pytest.raises(InputError, match="no such file"):
        find_files([tmp_path / "nope.txt"])
    big = write(tmp_path / "big.txt", "word " * 1000)
    with pytest.raises(InputError, match="too large"):
        read_document(big, max_bytes=1000)


def test_windows_1252_text_is_decoded(tmp_path: Path) -> None:
    doc = read_document(write(tmp_path / "w.txt", b"Caf\xe9 \x93quoted\x94\n"), max_bytes=MB)
    assert doc.text == "Café “quoted”\n"
