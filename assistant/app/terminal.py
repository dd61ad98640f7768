"""What the command line prints is text, never terminal commands.

A request typed on the page, a document title or a saved answer may hold
escape sequences (colours, window titles, hyperlinks, "clear screen"), other
control characters or bidi overrides that reorder what an operator reads.
``clean`` removes them; ``CleanStream`` applies it to everything written to
stdout and stderr while a CLI command runs (cli.main), so no render function
has to remember. ``dumps`` keeps ``--json`` exact: the characters that
``clean`` would drop are written as JSON ``\\uXXXX`` escapes instead.
Not handled: characters that merely look alike (homoglyphs) and zero-width
spaces; they cannot move the cursor or reorder text.
"""

from __future__ import annotations

import io
import json
import re
from typing import Any, TextIO

# Whole escape sequences first (so their parameters go too), then any single control left over.
_SEQUENCES = re.compile(
    r"(?:\x1b\[|\x9b)[0-?]*[ -/]*[@-~]"  # CSI: colours, cursor moves, erase
    r"|(?:\x1b[]P^_X]|[\x90\x98\x9d-\x9f])[^\x07\x1b\x9c]*(?:\x07|\x1b\\|\x9c)"  # OSC, DCS, SOS, PM, APC strings
    r"|\x1b[ -/]*[0-~]"  # two-character and nF escapes
)
_CONTROLS = re.compile("[\x00-\x08\x0b-\x1f\x7f-\x9f\u202a-\u202e\u2066-\u2069]")
_UNSAFE_IN_JSON = re.compile("[\x7f-\x9f\u202a-\u202e\u2066-\u2069]")  # json.dumps escapes C0 itself


def clean(text: str) -> str:
    r"""``text`` without escape sequences, control characters (but ``\n`` and ``\t``) or bidi overrides.

    >>> clean("\x1b[31mred\x1b[0m \x1b]0;title\x07ok\tdone\r\n")
    'red ok\tdone\n'
    >>> clean("abc\u202edcba\u202c \x9b2Jx")
    'abcdcba x'
    """
    return _CONTROLS.sub("", _SEQUENCES.sub("", text))


def dumps(data: Any) -> str:
    r"""``data`` as indented JSON, with every character ``clean`` would drop escaped, not dropped.

    >>> dumps({"t": "a\x1b[1m\u202e\x9b"})
    '{\n  "t": "a\\u001b[1m\\u202e\\u009b"\n}'
    """
    text = json.dumps(data, ensure_ascii=False, indent=2)
    return _UNSAFE_IN_JSON.sub(lambda m: f"\\u{ord(m.group()):04x}", text)


class CleanStream(io.TextIOBase):
    """A text stream that writes ``clean(text)`` to ``raw``.

    One exception: carriage returns at the very start or end of one ``write``
    are kept. That is how a progress line (progress.py, tqdm) redraws itself;
    no printed content starts or ends a write with one, and inside a write they
    are removed like any other control character.
    """

    def __init__(self, raw: TextIO) -> None:
        super().__init__()
        self.raw = raw

    def write(self, text: str) -> int:
        body = text.strip("\r")
        head = text[: len(text) - len(text.lstrip("\r"))]
        tail = text[len(head) + len(body):] if body else ""
        self.raw.write(head + clean(body) + tail)
        return len(text)

    def flush(self) -> None:
        self.raw.flush()

    def isatty(self) -> bool:
        return self.raw.isatty()

    def fileno(self) -> int:
        return self.raw.fileno()

    def writable(self) -> bool:
        return True

    @property
    def encoding(self) -> str:  # type: ignore[override]
        return getattr(self.raw, "encoding", None) or "utf-8"
