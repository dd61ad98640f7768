"""Read files into normalised ``Document`` records.

Handles ``.txt``, ``.md`` (with an optional ``---`` front-matter block of
``key: value`` lines for title/author/publication/date/url/qualifications),
``.pdf`` (text layer via pypdf; title/author/creation date from its metadata)
and ``.html``/``.htm`` (visible text via the standard library parser;
provenance from ``<title>``, ``<meta>`` and ``<link rel=canonical>``).
Provenance fields the file does not state stay empty: nothing is guessed.
Not handled: OCR of scanned PDFs, encrypted PDFs, DOCX, scripts or styles
inside HTML, encodings other than UTF-8 / UTF-16 with BOM / Windows-1252.
Every refusal is a ``FileError`` with a one-line reason: special files
(FIFOs, devices), NUL bytes anywhere in a text file, bad UTF-16, lone
surrogates, names too long for the file system, names that are not UTF-8.
Folders are walked by folders.py, which also says what it had to pass over.

Normalisation (NFC, ``\\n`` line ends, no trailing spaces, at most one blank
line in a row) happens once here; every char offset downstream refers to the
normalised text.
"""

from __future__ import annotations

import hashlib
import logging
import os
import re
import stat
import unicodedata
import warnings
from collections.abc import Iterable
from html.parser import HTMLParser
from pathlib import Path
from typing import Any

from ..errors import FileError
from ..types import Document, Skipped
from .folders import Walk, walk

TEXT_SUFFIXES = {".txt", ".md", ".markdown"}
HTML_SUFFIXES = {".html", ".htm"}
PDF_SUFFIXES = {".pdf"}
SUPPORTED = TEXT_SUFFIXES | HTML_SUFFIXES | PDF_SUFFIXES
META_KEYS = {"title", "author", "publication", "date", "url", "qualifications"}
# Other spellings accepted in front matter -> the field they fill.
META_ALIASES = {"link": "url", "source_url": "url", "quals": "qualifications", "publisher": "publication"}
ENCRYPTED = "encrypted PDF (needs a password or a decryption library): save a copy without encryption and add that"


def find_files(paths: Iterable[Path]) -> list[Path]:
    """Expand folders (recursively, supported suffixes only, sorted); files pass as given.

    What a folder walk passes over is dropped here: ``scan`` also returns it, for the ingest report.
    """
    return scan(paths).files


def scan(paths: Iterable[Path]) -> Walk:
    """``find_files`` plus what the folder walks passed over (loops, dangling links, unreadable subfolders).

    A path the user named that is missing or cannot be looked at raises ``FileError``;
    files of other types inside a folder are only counted (``Walk.ignored``).
    """
    files: list[Path] = []
    skipped: list[Skipped] = []
    ignored = 0
    for path in paths:
        path = Path(path).expanduser()
        mode = _mode(path, "no such file or folder")
        if not stat.S_ISDIR(mode):
            files.append(path)
            continue
        try:
            found = walk(path, lambda p: p.suffix.lower() in SUPPORTED)
        except OSError as exc:
            raise FileError(f"cannot read folder ({exc.strerror})", path) from None
        files += found.files
        skipped += found.skipped
        ignored += found.ignored
    return Walk(files, skipped, ignored)


def _mode(path: Path, missing: str) -> int:
    """``st_mode`` of ``path``, or a ``FileError`` saying why it cannot be looked at."""
    try:
        return path.stat().st_mode
    except FileNotFoundError:
        raise FileError(missing, path) from None
    except OSError as exc:  # ENAMETOOLONG, EACCES, ELOOP, ...
        raise FileError(f"cannot open ({exc.strerror})", _short(path)) from None


def _utf8(text: str) -> bool:
    """False for a name with bytes that are not UTF-8 (Python holds them as lone surrogates)."""
    try:
        text.encode("utf-8")
    except UnicodeEncodeError:
        return False
    return True


def _short(path: Path) -> str:
    text = str(path)
    return text if len(text) <= 120 else f"{text[:60]}...{text[-40:]} ({len(path.name)}-character name)"


def _special(mode: int) -> str:
    """What a non-regular, non-folder file is, for the error message."""
    for test, what in ((stat.S_ISFIFO, "a named pipe (FIFO)"), (stat.S_ISCHR, "a character device"),
                       (stat.S_ISBLK, "a block device"), (stat.S_ISSOCK, "a socket")):
        if test(mode):
            return what
    return "not a regular file"


def read_document(path: Path, *, max_bytes: int) -> Document:
    """Read and normalise one file, or raise ``FileError`` saying what is wrong with it."""
    path = Path(path).expanduser()
    mode = _mode(path, "no such file")
    path = path.resolve()
    if not _utf8(str(path)):  # the index stores the path as text: it could not be named there
        raise FileError("file name is not valid UTF-8 (rename the file)", os.fsencode(path).decode("utf-8", "replace"))
    if stat.S_ISDIR(mode):
        raise FileError("is a folder, not a file", path)
    if not stat.S_ISREG(mode):
        raise FileError(f"{_special(mode)}, not a file that can be read", path)
    suffix = path.suffix.lower()
    if suffix not in SUPPORTED:
        raise FileError(f"unsupported file type {suffix or '(none)'} (use .txt, .md, .pdf or .html)", path)
    size = path.stat().st_size
    if size > max_bytes:
        raise FileError(f"file too large ({size / 1e6:.1f} MB > {max_bytes / 1e6:g} MB limit)", path)
    try:
        raw = path.read_bytes()
    except OSError as exc:
        raise FileError(f"cannot read ({exc.strerror})", path) from None
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
        raise FileError("file has no text", path)
    if "\x00" in text:
        raise FileError("binary file, not text (holds NUL characters)", path)
    try:
        text.encode("utf-8")
    except UnicodeEncodeError:
        raise FileError("text holds lone surrogates (damaged UTF-16 or bad character references)", path) from None
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
        try:
            return raw.decode("utf-16")
        except UnicodeDecodeError as exc:
            raise FileError(f"cannot decode UTF-16 text ({exc.reason} at byte {exc.start})", path) from None
    nul = raw.find(b"\x00")
    if nul >= 0:
        raise FileError(f"binary file, not text (NUL byte at offset {nul})", path)
    try:
        return raw.decode("utf-8-sig")
    except UnicodeDecodeError:
        pass
    try:
        text = raw.decode("cp1252")
    except UnicodeDecodeError:
        raise FileError("cannot decode text (not UTF-8 or Windows-1252)", path) from None
    controls = sum(1 for ch in text if unicodedata.category(ch) == "Cc" and ch not in "\n\r\t\f")
    if controls > len(text) * 0.01:
        raise FileError("binary file, not text", path)
    return text


def _title_from(text: str, path: Path) -> str:
    first = next((ln.strip("# ").strip() for ln in text.splitlines() if ln.strip()), "")
    return first[:120] if 0 < len(first) <= 120 else path.stem.replace("_", " ").replace("-", " ")


def _pdf_text(raw: bytes, path: Path) -> tuple[str, dict[str, str]]:
    import io

    from pypdf import PdfReader
    from pypdf.errors import DependencyError, PdfReadError, PyPdfError

    # pypdf logs (and sometimes warns) about damaged files: the one-line error below says it all.
    logging.getLogger("pypdf").setLevel(logging.ERROR)
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            reader = PdfReader(io.BytesIO(raw))
            if reader.is_encrypted and not _decrypt(reader):
                raise FileError(ENCRYPTED, path)
            pages = [page.extract_text() or "" for page in reader.pages]
            meta = _pdf_meta(reader)
    except DependencyError:  # AES encryption without the `cryptography` package
        raise FileError(ENCRYPTED, path) from None
    except (PdfReadError, PyPdfError, ValueError, KeyError, TypeError, AttributeError, IndexError,
            RecursionError, OSError) as exc:
        raise FileError(f"cannot read PDF ({exc.__class__.__name__})", path) from None
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


def _decrypt(reader: Any) -> bool:
    """Open a PDF encrypted with an empty user password (common for "no copying" PDFs)."""
    try:
        return bool(reader.decrypt(""))
    except Exception:  # noqa: BLE001 - pypdf raises DependencyError for AES without `cryptography`, and more
        return False


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

