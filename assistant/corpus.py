"""Read files into normalised ``Document`` records.

Handles ``.txt``, ``.md`` (with an optional ``---`` front-matter block of
``key: value`` lines for title/author/publication/date/url/qualifications),
``.pdf`` (text layer via pypdf; title/author/creation date from its metadata)
and ``.html``/``.htm`` (visible text via the standard library parser;
provenance from ``<title>``, ``<meta>`` and ``<link rel=canonical>``).
Provenance fields the file does not state stay empty: nothing is guessed.
Not handled: OCR of scanned PDFs, DOCX, scripts or styles inside HTML,
encodings other than UTF-8 / UTF-16 with BOM / Windows-1252.

Normalisation (NFC, ``\\n`` line ends, no trailing spaces, at most one blank
line in a row) happens once here; every char offset downstream refers to the
normalised text.
"""

from __future__ import annotations

import hashlib
import re
import unicodedata
from collections.abc import Iterable
from html.parser import HTMLParser
from pathlib import Path

from .errors import InputError
from .types import Document

TEXT_SUFFIXES = {".txt", ".md", ".markdown"}
HTML_SUFFIXES = {".html", ".htm"}
PDF_SUFFIXES = {".pdf"}
SUPPORTED = TEXT_SUFFIXES | HTML_SUFFIXES | PDF_SUFFIXES
META_KEYS = {"title", "author", "publication", "date", "url", "qualifications"}
# Other spellings accepted in front matter -> the field they fill.
META_ALIASES = {"link": "url", "source_url": "url", "quals": "qualifications", "publisher": "publication"}


def find_files(paths: Iterable[Path]) -> list[Path]:
    """Expand folders (recursively, supported suffixes only, sorted); files pass as given."""
    found: list[Path] = []
    for path in paths:
        path = Path(path).expanduser()
        if not path.exists():
            raise InputError(f"no such file or folder: {path}")
        if path.is_dir():
            found.extend(sorted(p for p in path.rglob("*") if p.is_file() and p.suffix.lower() in SUPPORTED))
        else:
            found.append(path)
    return found


def read_document(path: Path, *, max_bytes: int) -> Document:
    """Read and normalise one file, or raise ``InputError`` saying what is wrong with it."""
    path = Path(path).expanduser().resolve()
    if not path.is_file():
        raise InputError(f"no such file: {path}")
    suffix = path.suffix.lower()
    if suffix not in SUPPORTED:
        raise InputError(f"unsupported file type {suffix or '(none)'}: {path} (use .txt, .md, .pdf or .html)")
    size = path.stat().st_size
    if size > max_bytes:
        raise InputError(f"file too large ({size / 1e6:.1f} MB > {max_bytes / 1e6:.1f} MB limit): {path}")
    raw = path.read_bytes()
    meta: dict[str, str] = {}
    if suffix in PDF_SUFFIXES:
        text, meta = _pdf_text(raw, path)
    else:
        decoded = _decode(raw, path)
        if suffix in HTML_SUFFIXES:
            text, meta = _html_text(decoded)
        else:
            meta, text = split_front_matter(decoded)
    text = normalise(text)
    if not text.strip():
        raise InputError(f"file has no text: {path}")
    return Document(
        doc_id=hashlib.sha256(text.encode()).hexdigest()[:16],
        source=str(path),
        title=meta.get("title") or _title_from(text, path),
        text=text,
        author=meta.get("author", ""),
        publication=meta.get("publication", ""),
        date=meta.get("date", ""),
        url=meta.get("url", ""),
        qualifications=meta.get("qualifications", ""),
    )


def normalise(text: str) -> str:
    """NFC, ``\\n`` line ends, tabs kept, trailing spaces and extra blank lines removed.

    >>> normalise("a  \\r\\n\\r\\n\\r\\nb\\u00a0c")
    'a\\n\\nb c\\n'
    """
    text = unicodedata.normalize("NFC", text).replace("\r\n", "\n").replace("\r", "\n")
    text = text.replace("\u00a0", " ").replace("\ufeff", "")
    text = re.sub(r"[ \t]+\n", "\n", text)
    text = re.sub(r"\n{3,}", "\n\n", text)
    return text.strip() + "\n" if text.strip() else ""


def split_front_matter(text: str) -> tuple[dict[str, str], str]:
    """Split a leading ``---`` block of ``key: value`` lines from the body."""
    match = re.match(r"\A\ufeff?---[ \t]*\r?\n(.*?)\r?\n---[ \t]*(?:\r?\n|\Z)", text, re.S)
    if not match:
        return {}, text
    meta: dict[str, str] = {}
    for line in match.group(1).splitlines():
        key, sep, value = line.partition(":")
        key = META_ALIASES.get(key.strip().lower(), key.strip().lower())
        if sep and key in META_KEYS | {"original"} and value.strip():
            meta[key] = value.strip().strip("\"'").strip()
    return meta, text[match.end():]


def _decode(raw: bytes, path: Path) -> str:
    if raw.startswith((b"\xff\xfe", b"\xfe\xff")):
        return raw.decode("utf-16")
    if b"\x00" in raw[:8192]:
        raise InputError(f"binary file, not text: {path}")
    try:
        return raw.decode("utf-8-sig")
    except UnicodeDecodeError:
        pass
    try:
        text = raw.decode("cp1252")
    except UnicodeDecodeError:
        raise InputError(f"cannot decode text (not UTF-8 or Windows-1252): {path}") from None
    controls = sum(1 for ch in text if unicodedata.category(ch) == "Cc" and ch not in "\n\r\t\f")
    if controls > len(text) * 0.01:
        raise InputError(f"binary file, not text: {path}")
    return text


def _title_from(text: str, path: Path) -> str:
    first = next((ln.strip("# ").strip() for ln in text.splitlines() if ln.strip()), "")
    return first[:120] if 0 < len(first) <= 120 else path.stem.replace("_", " ").replace("-", " ")


def _pdf_text(raw: bytes, path: Path) -> tuple[str, dict[str, str]]:
    import io

    from pypdf import PdfReader
    from pypdf.errors import PdfReadError

    try:
        reader = PdfReader(io.BytesIO(raw))
        pages = [page.extract_text() or "" for page in reader.pages]
        meta = _pdf_meta(reader)
    except (PdfReadError, ValueError, KeyError, TypeError) as exc:
        raise InputError(f"cannot read PDF ({exc.__class__.__name__}): {path}") from None
    return "\n\n".join(p.strip() for p in pages if p.strip()), meta


def _pdf_meta(reader: object) -> dict[str, str]:
    """Title, author and creation date from a PDF's document information, when set."""
    info = getattr(reader, "metadata", None)
    if not info:
        return {}
    meta = {"title": str(info.title or "").strip(), "author": str(info.author or "").strip()}
    try:
        created = info.creation_date
    except Exception:  # pypdf raises on malformed dates; the date then stays empty
        created = None
    if created is not None:
        meta["date"] = created.strftime("%Y-%m-%d")
    if meta["title"].lower() in {"untitled", "untitled document"}:
        meta["title"] = ""
    return {k: v for k, v in meta.items() if v}


class _VisibleText(HTMLParser):
    """Collect visible text; block elements become paragraph breaks."""

    BLOCKS = {"p", "div", "br", "li", "h1", "h2", "h3", "h4", "h5", "h6", "tr",
              "section", "article", "blockquote", "pre", "header", "footer", "ul", "ol"}
    SKIP = {"script", "style", "noscript", "template", "svg", "head"}

    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.parts: list[str] = []
        self.title = ""
        self.meta: dict[str, str] = {}  # lower-cased <meta name|property> -> content (first wins)
        self._skip = 0
        self._in_title = False

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        if tag in {"meta", "link"}:
            self._keep_meta(tag, dict(attrs))
        if tag == "title":
            self._in_title = True
        if tag in self.SKIP:
            self._skip += 1
        elif tag in self.BLOCKS:
            self.parts.append("\n\n")

    def handle_endtag(self, tag: str) -> None:
        if tag == "title":
            self._in_title = False
        if tag in self.SKIP:
            self._skip = max(0, self._skip - 1)
        elif tag in self.BLOCKS:
            self.parts.append("\n\n")

    def _keep_meta(self, tag: str, attrs: dict[str, str | None]) -> None:
        if tag == "link" and "canonical" in (attrs.get("rel") or "").lower().split():
            key, value = "canonical", attrs.get("href")
        else:
            key, value = (attrs.get("name") or attrs.get("property") or "").lower(), attrs.get("content")
        value = re.sub(r"\s+", " ", value or "").strip()
        if key and value and key not in self.meta:
            self.meta[key] = value

    def handle_data(self, data: str) -> None:
        if self._in_title:
            self.title += data
        elif not self._skip:
            self.parts.append(re.sub(r"\s+", " ", data))


def _html_text(html: str) -> tuple[str, dict[str, str]]:
    parser = _VisibleText()
    parser.feed(html)
    parser.close()
    text = "".join(parser.parts)
    text = "\n\n".join(line.strip() for line in re.split(r"\n\s*\n", text) if line.strip())
    meta = _html_meta(parser.meta)
    title = re.sub(r"\s+", " ", parser.title).strip()
    if title and "title" not in meta:
        meta["title"] = title
    return text, meta


# Provenance field <- the <meta> keys that state it, in order of preference.
HTML_META = {
    "title": ("citation_title", "og:title", "dc.title"),
    "author": ("citation_author", "author", "dc.creator", "parsely-author"),
    "date": ("citation_publication_date", "citation_date", "article:published_time", "dc.date", "date",
             "pubdate"),
    "publication": ("citation_journal_title", "og:site_name"),
    "url": ("canonical", "og:url", "citation_public_url"),
}


def _html_meta(found: dict[str, str]) -> dict[str, str]:
    """Provenance from an HTML page's meta tags; ISO timestamps keep their date part.

    >>> _html_meta({"author": "Jo Bloggs", "article:published_time": "2024-03-05T10:00:00Z"})
    {'author': 'Jo Bloggs', 'date': '2024-03-05'}
    """
    meta: dict[str, str] = {}
    for field_name, keys in HTML_META.items():
        value = next((found[k] for k in keys if found.get(k)), "")
        if field_name == "author" and value.startswith(("http://", "https://")):
            value = ""  # article:author is often a profile URL, not a name
        if field_name == "date" and re.match(r"\d{4}-\d{2}-\d{2}T", value):
            value = value[:10]
        if value:
            meta[field_name] = value
    return meta

