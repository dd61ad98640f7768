"""What the command line prints and how it fails: clean text, one-line errors, exit 2, checks before work.

Escapes are tested through the real CLI in a subprocess (real embedder, real Chroma, the tiny model
for `ask`); exit codes, --out checks and the "not covered" notice run the CLI in this process with
a scripted model put where the real one would be built, so no test waits for generation.
"""

from __future__ import annotations

import io
import json
import os
import re
import shutil
import subprocess
import sys
import time
from pathlib import Path

import pytest

from assistant.app.terminal import CleanStream, clean, dumps
from tests.conftest import REPO
from tests.fakes import FakeGenerator
from tests.ui_support import CitingGenerator

# A request and a title a hostile page user could type: window title, clear screen, colours, a hidden
# hyperlink, 8-bit CSI and OSC, DEL, bidi override and isolate.
EVIL_REQUEST = ("\x1b]0;pwned\x07\x1b[2JWhich \x1b[31msourdough\x1b[0m starter \x9b1mis\u202e best\u2066 "
                "\x1b]8;;http://evil.example\x1b\\for rye\x1b]8;;\x1b\\\x7f bread?\x9d2;x\x9c")
EVIL_TITLE = "Homeward \x1b[8mBound\x1b[0m\u202e \x1b]0;t\x07\x9b2J\u2067x\u2069"
FORBIDDEN = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\x7f-\x9f\u202a-\u202e\u2066-\u2069]")


# -- terminal.clean ----------------------------------------------------------------------


@pytest.mark.parametrize(("raw", "shown"), [
    ("\x1b[1;31mbold red\x1b[0m", "bold red"),
    ("\x1b]8;;http://x.example\x1b\\link\x1b]8;;\x1b\\", "link"),  # OSC 8 hyperlink, ST-terminated
    ("a\x1bPq#0;2;0;0;0\x1b\\b", "ab"),  # DCS (sixel)
    ("a\x9b2Jb\x9d0;t\x9cc", "abc"),  # 8-bit CSI and OSC
    ("left\u202eright\u202c \u2066iso\u2069", "leftright iso"),
    ("bell\x07 nul\x00 del\x7f bs\x08 cr\r ff\x0c", "bell nul del bs cr ff"),
    ("unterminated \x1b]0;title", "unterminated 0;title"),  # the ESC goes, the rest is plain text
    ("keeps\tthe\nlayout — café ✓ «ok»", "keeps\tthe\nlayout — café ✓ «ok»"),
])
def test_clean_removes_every_control_but_newline_and_tab(raw: str, shown: str) -> None:
    assert clean(raw) == shown


def test_clean_stream_keeps_only_a_progress_lines_own_carriage_returns() -> None:
    raw = io.StringIO()
    stream = CleanStream(raw)
    stream.write("\rwriting… 5 tokens")
    stream.write("\r      \r")
    stream.write("title\rover\x1b[2K")
    assert raw.getvalue() == "\rwriting… 5 tokens\r      \rtitleover"


def test_json_escapes_what_clean_would_drop_and_stays_exact() -> None:
    text = dumps({"request": EVIL_REQUEST})
    assert not FORBIDDEN.search(text) and json.loads(text) == {"request": EVIL_REQUEST}


# -- escapes through the real CLI ------------------------------------------------------------


def _cli(*args: str, index: Path, **env: str) -> tuple[int, str, str]:
    proc = subprocess.run([sys.executable, "-m", "assistant", *args], capture_output=True, cwd=REPO,
                          env={**os.environ, "ASSISTANT_INDEX": str(index), **env}, timeout=300)
    out, err = proc.stdout.decode("utf-8"), proc.stderr.decode("utf-8")
    for stream in (out, err):
        assert not FORBIDDEN.search(stream), (args, [c for c in stream if FORBIDDEN.match(c)])
    return proc.returncode, out, err


@pytest.mark.integration
def test_no_escape_reaches_the_terminal(seeded_index: Path, tmp_path: Path) -> None:
    index = tmp_path / "ix"
    shutil.copytree(seeded_index, index)
    code, out, err = _cli("meta", "homeward-bound.md", "--title", EVIL_TITLE, index=index)
    assert code == 0 and "Homeward Bound" in out, err
    # Off topic on purpose: the answer is "not covered" without generation, but heading, progress
    # (passage titles), notices and sources are all printed, and the request goes to the history.
    code, out, err = _cli("--model", "test", "ask", EVIL_REQUEST, "--k", "3", index=index, ASSISTANT_PROGRESS="1")
    assert code == 0, err
    assert "# Answer: Which sourdough starter is best for rye bread?" in out and "Homeward Bound" in out
    assert "reading 3 passages" in err and "saved as #1" in err
    code, out, _ = _cli("history", index=index)
    assert code == 0 and "#1" in out and "Which sourdough starter" in out
    code, out, _ = _cli("show", "1", index=index)
    assert code == 0 and "# Answer: Which sourdough" in out
    code, out, _ = _cli("show", "1", "--json", index=index)
    assert json.loads(out)["request"] == " ".join(EVIL_REQUEST.split())  # --json keeps the exact text
    code, out, _ = _cli("docs", index=index)
    assert code == 0 and "Homeward Bound" in out
    code, out, _ = _cli("docs", "--json", index=index)
    assert EVIL_TITLE in {d["title"] for d in json.loads(out)}
    code, out, _ = _cli("search", "remote work and deep focus at home", "--k", "6", index=index)
    assert code == 0 and "Homeward Bound" in out
    code, out, err = _cli("meta", EVIL_TITLE, "--author", "x", index=index)
    assert code == 0 and out.count("\n") == 1  # the title as a reference, echoed back


# -- argparse mistakes --------------------------------------------------------------------


@pytest.mark.parametrize(("args", "line"), [
    (["search", "x", "--k", "abc"], "error: argument --k: invalid int value: 'abc' (see assistant search --help)"),
    (["search"], "error: the following arguments are required: QUERY (see assistant search --help)"),
    (["docs", "--frob"], "error: unrecognized arguments: --frob (see assistant --help)"),
    ([], "error: the following arguments are required: COMMAND (see assistant --help)"),
    (["frobnicate"], "error: argument COMMAND: invalid choice: 'frobnicate' (choose from "),
])
def test_argparse_mistakes_are_one_line_and_exit_2(args: list[str], line: str, tmp_path: Path) -> None:
    code, out, err = _cli(*args, index=tmp_path / "none")
    assert code == 2 and not out and err.count("\n") == 1 and err.startswith(line), err


def test_help_still_works(tmp_path: Path) -> None:
    code, out, err = _cli("search", "--help", index=tmp_path / "none")
    assert code == 0 and out.startswith("usage: assistant search") and not err


# -- in-process runs with a scripted model ----------------------------------------------------


def run_cli(*args: str) -> tuple[int, str, str]:
    import contextlib

    from assistant.app.cli import main

    out, err = io.StringIO(), io.StringIO()
    with contextlib.redirect_stdout(out), contextlib.redirect_stderr(err):
        code = main(list(args))
    return code, out.getvalue(), err.getvalue()


@pytest.fixture
def cli_index(seeded_index: Path, tmp_path: Path, real_embedder, monkeypatch: pytest.MonkeyPatch) -> Path:  # type: ignore[no-untyped-def]
    """A private seeded index for in-process CLI runs: the real embedder, loaded once per session."""
    index = tmp_path / "cli-index"
    shutil.copytree(seeded_index, index)
    monkeypatch.setenv("ASSISTANT_INDEX", str(index))
    monkeypatch.setattr("assistant.api.load_embedder", lambda *a, **kw: real_embedder)
    return index


def _use_model(monkeypatch: pytest.MonkeyPatch, gen: FakeGenerator, built: list[str] | None = None) -> FakeGenerator:
    """``gen`` is built wherever the CLI would build the model from settings (noted in ``built``)."""
    def build(*args: object, **kw: object) -> FakeGenerator:
        if built is not None:
            built.append("model")
        return gen

    monkeypatch.setattr("assistant.backends.build_generator", build)
    return gen


def _one_error(code: int, out: str, err: str) -> str:
    assert code == 2 and not out and err.startswith("error: ") and err.count("\n") == 1, (code, out, err)
    return err


def test_every_bad_reference_exits_2(cli_index: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    gen = _use_model(monkeypatch, CitingGenerator())
    assert run_cli("ask", "Does working from home hurt productivity?")[0] == 0  # history #1
    before, calls = run_cli("docs", "--json")[1], len(gen.calls)
    for args in (("remove", "nope.md"), ("meta", "nope.md", "--author", "A"), ("search", "office", "--doc", "nope"),
                 ("ask", "office", "--doc", "nope"), ("show", "999"), ("forget", "999"), ("show", "x1")):
        err = _one_error(*run_cli(*args))
        assert "no document matches" in err or "saved answer" in err or "history id" in err, err
    assert run_cli("docs", "--json")[1] == before and len(gen.calls) == calls
    assert len(json.loads(run_cli("history", "--json")[1])) == 1


OUT_CASES = [
    ("{tmp}/nowhere/a.md", "does not exist"),
    ("{tmp}", "is a folder"),
    ("/proc/nope.md", "cannot write a file in /proc"),
    ("/sys/nope.md", "cannot write a file in /sys"),
    ("{tmp}/a.rtf", "unknown format .rtf"),
]


@pytest.fixture
def opened(monkeypatch: pytest.MonkeyPatch) -> list[str]:
    """Notes each time the index is opened, which a refused --out must never reach."""
    from assistant import backends

    seen: list[str] = []
    real = backends.open_store
    monkeypatch.setattr(backends, "open_store", lambda *a, **kw: seen.append("index") or real(*a, **kw))
    return seen


@pytest.mark.parametrize("mode", ["ask", "brief", "steelman", "rebut"])
def test_out_paths_are_refused_before_any_work(cli_index: Path, tmp_path: Path, mode: str, opened: list[str],
                                               monkeypatch: pytest.MonkeyPatch) -> None:
    gen = _use_model(monkeypatch, CitingGenerator(), opened)
    for target, says in OUT_CASES:
        started = time.perf_counter()
        code, out, err = run_cli(mode, "Remote work makes companies more productive", "--out",
                                 target.format(tmp=tmp_path))
        assert time.perf_counter() - started < 1.0, target  # milliseconds; a loaded machine still passes
        assert says in _one_error(code, out, err)
    assert opened == [] and gen.calls == [] and not (tmp_path / "a.rtf").exists()
    assert json.loads(run_cli("history", "--json")[1]) == []  # nothing generated, nothing saved


def test_show_and_eval_out_are_refused_before_any_work(cli_index: Path, tmp_path: Path,
                                                       monkeypatch: pytest.MonkeyPatch) -> None:
    _use_model(monkeypatch, CitingGenerator())
    assert run_cli("ask", "Does working from home hurt productivity?")[0] == 0
    for target, says in OUT_CASES:
        assert says in _one_error(*run_cli("show", "1", "--out", target.format(tmp=tmp_path)))
    for target, says in OUT_CASES[:4]:  # eval writes JSON whatever the suffix
        started = time.perf_counter()
        err = _one_error(*run_cli("eval", "--out", target.format(tmp=tmp_path).replace(".md", ".json")))
        assert says in err and time.perf_counter() - started < 1.0


# -- "not covered" when no point is kept ---------------------------------------------------------

UNGROUNDED = {"covered": True, "points": [{"text": "Remote work helps.", "evidence": ["S999"]}], "gaps": ""}
NOTICE = "The sources do not cover this"


def test_an_answer_whose_points_are_all_dropped_says_not_covered(cli_index: Path,
                                                                 monkeypatch: pytest.MonkeyPatch) -> None:
    gen = _use_model(monkeypatch, FakeGenerator())
    for _ in range(2):
        gen.enqueue(UNGROUNDED)
    code, out, _ = run_cli("ask", "Does working from home hurt productivity?", "--no-history")
    assert code == 0 and gen.calls and f"> **Note:** {NOTICE} question" in out
    code, out, _ = run_cli("ask", "Does working from home hurt productivity?", "--json", "--no-history")
    data = json.loads(out)
    assert data["covered"] is False and any(NOTICE in n for n in data["notices"])
    assert not any(c["citations"] for c in data["claims"])


def test_a_brief_with_no_grounded_point_is_not_covered_and_says_so(cli_index: Path,
                                                                   monkeypatch: pytest.MonkeyPatch) -> None:
    _use_model(monkeypatch, FakeGenerator())  # every step gets "{}": no stance, no side, no point
    code, out, _ = run_cli("brief", "Remote work makes companies more productive", "--json", "--no-history")
    data = json.loads(out)
    # the passages were found; the stance step put no sentence on a side, and the notice says that, not "no sources"
    assert code == 0 and data["covered"] is False and data["passages"]
    assert any(n.startswith("No side could be built: of the 16 sentences read, 0 argue FOR this motion and 0 "
                            "AGAINST it") for n in data["notices"]), data["notices"]
    assert not any(NOTICE in n for n in data["notices"])
