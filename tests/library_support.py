"""An assistant on a private copy of the seeded index whose model cites the first sentences it is shown."""

from __future__ import annotations

import shutil
from pathlib import Path

from assistant import Assistant, Settings
from tests.ui_support import CitingGenerator


def citing_assistant(seeded_index: Path, tmp_path: Path, embedder: object, **settings: object) -> Assistant:
    index = tmp_path / "library-index"
    if not index.exists():
        shutil.copytree(seeded_index, index)
    return Assistant(Settings.load(index_dir=index, **settings), embedder=embedder,  # type: ignore[arg-type]
                     generator=CitingGenerator())


def run_cli(*args: str) -> tuple[int, str, str]:
    """``assistant ARGS`` in this process (ASSISTANT_INDEX is set by the autouse fixture)."""
    import contextlib
    import io

    from assistant.app.cli import main

    out, err = io.StringIO(), io.StringIO()
    with contextlib.redirect_stdout(out), contextlib.redirect_stderr(err):
        code = main(list(args))
    return code, out.getvalue(), err.getvalue()
