"""What both halves of the command line share (cli.py, cli_library.py): the assistant built from
the global flags, and the ``--out`` check that runs before any work.

Not handled: parsing (cli.py owns the parser; cli_library.py adds its commands to it).
"""

from __future__ import annotations

import argparse
from typing import TYPE_CHECKING, Any

from ..errors import InputError

if TYPE_CHECKING:
    from ..api import Assistant


def open_assistant(args: argparse.Namespace, **extra: Any) -> Assistant:
    """The assistant for one command: the global flags (``--index``, ``--model``, ...) plus ``extra``."""
    from ..api import Assistant

    return Assistant(index_dir=args.index, embedder=args.embedder, model=args.model, chroma_url=args.chroma_url,
                     llm_url=args.llm_url, **extra)


def check_out(path: str, *, export: bool = True) -> None:
    """Refuse an ``--out`` path we could not write, before any model or index work starts.

    ``export``: the format is chosen by the suffix (export.py), so an unknown one is refused too.
    Writability is tried, not read from permission bits: root passes ``os.access`` everywhere, even
    where nothing can be created (/proc, /sys, a read-only mount). Exports replace the target with a
    file written beside it, so the folder is what must be writable.
    """
    import os
    from pathlib import Path

    out = Path(path).expanduser()
    folder, shown = out.parent, str(path)[:120]
    try:
        if out.is_dir():
            raise InputError(f"--out {shown} is a folder: give a file name")
        if out.exists() and not out.is_file():
            raise InputError(f"--out {shown} is not a regular file")
        if not folder.is_dir():
            raise InputError(f"--out {shown}: the folder {folder} does not exist")
        if export:
            from ..output.export import export_format

            export_format(path)
        probe = folder / f".{out.name}.{os.getpid()}.probe"
        os.close(os.open(probe, os.O_CREAT | os.O_EXCL | os.O_WRONLY, 0o600))
        probe.unlink()
    except OSError as exc:
        raise InputError(f"--out {shown}: cannot write a file in {folder} ({exc.strerror or exc})") from None
