"""What the page accepts as a file: only what Gradio itself received through its upload route.

A client names a file with a reference ``{"path": ..., "meta": {"_type": "gradio.FileData"}}``.
A browser, or gradio_client's ``handle_file``, first sends the bytes to Gradio's upload route,
which stores them as ``<upload folder>/<64 hex digits>/<name>``; the reference then names that
copy. A hostile client can instead write any server path, a URL, or a symlink into the reference.
Gradio 6.31 itself refuses local paths outside its upload folder, but only after a stat and with
an error of its own, and it downloads a named http(s) URL into its cache before the event's
function runs (even with ``preprocess=False``: the move to cache happens first). So the page
checks every file reference in an event's raw inputs before Gradio touches any of them, and
refuses a forged one with one fixed message: the same whether the path exists or not, with no
path and no OS error in it, so the answer tells the caller nothing about the server's files.

Not handled: telling one user's upload from another's inside the upload folder (its folder names
are content hashes salted with a secret per-installation seed, so naming another user's upload
takes its content), nor a file the caller's own client uploads from the server's machine (that is
a genuine upload: gradio_client's ``predict`` reads a local path named in a reference and sends it).
"""

from __future__ import annotations

import os
import re
import stat
from pathlib import Path
from typing import Any

REFUSED = "⚠ Not accepted: only files uploaded through this page can be added."
FILE_DATA = "gradio.FileData"
_HASH_DIR = re.compile(r"[0-9a-f]{64}")


def received(path: object, folder: str | Path) -> bool:
    """True when ``path`` is a regular file that Gradio's upload route stored in ``folder``.

    ``<folder>/<64 hex>/<name>`` once every symlink is resolved, and the file itself is not a
    symlink: a link placed inside the folder that points out of it (or anywhere) is refused.
    """
    if not isinstance(path, str) or not path or "://" in path:
        return False
    try:
        if not stat.S_ISREG(os.lstat(path).st_mode):  # lstat: a symlink is not a regular file
            return False
        real = Path(os.path.realpath(path))
        root = Path(os.path.realpath(folder))
    except (OSError, ValueError):  # missing, unreadable folder, NUL byte, name too long
        return False
    return real.parent.parent == root and bool(_HASH_DIR.fullmatch(real.parent.name))


def forged(inputs: Any, folder: str | Path) -> bool:
    """True when the raw event ``inputs`` hold a file reference that is not a received upload.

    A file reference is any dict with a ``path`` key or a FileData ``meta`` tag, however deeply
    nested; it must carry the tag and name a received file. Walked without recursion, so a
    deeply nested request cannot blow the stack.
    """
    todo = [inputs]
    while todo:
        value = todo.pop()
        if isinstance(value, dict):
            meta = value.get("meta")
            tagged = isinstance(meta, dict) and meta.get("_type") == FILE_DATA
            if "path" in value or tagged:
                if not (tagged and received(value.get("path"), folder)):
                    return True
                continue
            todo.extend(value.values())
        elif isinstance(value, list | tuple):
            todo.extend(value)
    return False


def guarded_blocks() -> Any:
    """A ``gr.Blocks`` class that refuses forged file references before Gradio reads, copies or fetches them.

    ``preprocess_data`` is where Gradio moves an event's files into its cache; the check runs
    first, on the inputs exactly as the client sent them, for every event of the page.
    """
    import gradio as gr

    class GuardedBlocks(gr.Blocks):
        async def preprocess_data(self, block_fn: Any, inputs: list[Any], state: Any,
                                  explicit_call: bool = False) -> Any:
            if forged(inputs, self.GRADIO_CACHE):
                raise gr.Error(REFUSED, print_exception=False)  # the server log needs no traceback
            return await super().preprocess_data(block_fn, inputs, state, explicit_call)

    return GuardedBlocks
