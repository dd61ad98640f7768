"""Answer -> a file, the format chosen by the file's suffix.

``FORMATS`` maps each suffix to its renderer (Markdown and JSON from
``render.py``, cards from ``docx.py`` and ``pdf.py``); each
returns bytes and imports its heavy library itself. Files are written
atomically (a temp file beside the target, then renamed), so a failed export
never leaves a half-written file. Not handled: choosing a format other than
by suffix.
"""

from __future__ import annotations

import json
import os
from collections.abc import Callable
from pathlib import Path

from ..errors import InputError
from ..types import Answer
from .cards import DocLookup

Renderer = Callable[[Answer, "DocLookup | None"], bytes]


def _markdown(a: Answer, documents: DocLookup | None) -> bytes:
    from .render import answer_markdown

    return answer_markdown(a).encode()


def _json(a: Answer, documents: DocLookup | None) -> bytes:
    """What ``--json`` prints, plus the provenance of every cited document under ``documents``."""
    from dataclasses import asdict

    from .render import answer_dict

    data = answer_dict(a)
    cited = dict.fromkeys(q.doc_id for q in a.quotes if q.verified and q.doc_id)
    found = {d: documents(d) for d in cited} if documents else {}
    data["documents"] = {d: {k: v for k, v in asdict(doc).items() if k != "text"}
                         for d, doc in found.items() if doc is not None}
    return json.dumps(data, ensure_ascii=False, indent=2).encode()


def _docx(a: Answer, documents: DocLookup | None) -> bytes:
    from .docx import render

    return render(a, documents)


def _pdf(a: Answer, documents: DocLookup | None) -> bytes:
    from .pdf import render

    return render(a, documents)


FORMATS: dict[str, Renderer] = {".md": _markdown, ".json": _json, ".docx": _docx, ".pdf": _pdf}


def export_format(path: str | Path) -> str:
    """The suffix of ``path`` if we can write it, else a one-line ``InputError``.

    >>> export_format("brief.DOCX")
    '.docx'
    """
    suffix = Path(path).suffix.lower()
    if suffix not in FORMATS:
        raise InputError(f"cannot export to {str(path)!r}: unknown format {suffix or '(no suffix)'}; "
                         f"use {', '.join(FORMATS)}")
    return suffix


def render_as(answer: Answer, suffix: str, *, documents: DocLookup | None = None) -> bytes:
    """The answer rendered in the format named by ``suffix`` (".md", ".json", ".docx", ".pdf")."""
    return FORMATS[export_format(f"x{suffix}")](answer, documents)


def export(answer: Answer, path: str | Path, *, documents: DocLookup | None = None) -> Path:
    """Write ``answer`` to ``path`` in the format its suffix names; returns the path."""
    path = Path(path).expanduser()
    data = render_as(answer, export_format(path), documents=documents)
    tmp = path.with_name(f".{path.name}.{os.getpid()}.tmp")
    try:
        tmp.write_bytes(data)
        os.replace(tmp, path)
    except OSError as exc:
        tmp.unlink(missing_ok=True)
        raise InputError(f"cannot write {path}: {exc.strerror or exc}") from None
    return path
