"""The page reads no server file: forged file references are refused before Gradio touches them.

A hostile client names a server path, a URL or a symlink in a FileData reference instead of
uploading bytes. gradio_client, run on the server's own machine, would read such a path itself
and upload it (a genuine upload of a file the caller can already read); a client on another
machine cannot, so what reaches the server is the bare reference. These tests send that bare
reference by turning off the client's local upload step, with and without sign-in, against the
real page (real embedder, real Chroma), and watch every ``open`` of the secret's paths.
"""

from __future__ import annotations

import os
import sys
import uuid
from collections.abc import Iterator
from dataclasses import replace
from pathlib import Path
from typing import Any

import pytest

from assistant import Assistant
from assistant.app.auth import hash_line
from assistant.app.ui import upload
from assistant.app.ui_uploads import REFUSED
from tests.conftest import write
from tests.ui_support import CitingGenerator, running_app

pytestmark = pytest.mark.integration
OPENED: list[str] = []  # every watched path something in this process opened
WATCHED: set[str] = set()


def _audit(event: str, args: tuple[Any, ...]) -> None:
    if event == "open" and WATCHED and isinstance(args[0], str | bytes | os.PathLike):
        path = os.fsdecode(args[0])
        if path in WATCHED:
            OPENED.append(path)


sys.addaudithook(_audit)  # cannot be removed; costs one set test per open while nothing is watched


@pytest.fixture
def page(seeded_assistant: Assistant, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Assistant:
    seeded_assistant._generator = CitingGenerator()
    monkeypatch.setenv("GRADIO_TEMP_DIR", str(tmp_path / "gradio"))  # Gradio's upload folder, private
    return seeded_assistant


@pytest.fixture
def secrets(tmp_path: Path) -> Iterator[dict[str, Any]]:
    """Server files a caller must not reach, each holding one random token, and references to them."""
    token = f"TOKEN-{uuid.uuid4().hex}"
    srv = tmp_path / "srv"
    md = write(srv / "secret.md", f"# Secret\n\nThe vault code is {token}.\n")
    csv = write(srv / "secret.csv", f"code,{token}\n")
    hashed = tmp_path / "gradio" / ("ab" * 32)  # the shape of a real upload's folder
    hashed.mkdir(parents=True)
    (hashed / "notes.md").symlink_to(md)  # a link inside the upload folder pointing out of it
    (tmp_path / "gradio" / ("cd" * 32)).symlink_to(srv, target_is_directory=True)
    paths = {"existing": md, "refused suffix": csv, "missing": srv / "missing.md",
             "symlink in upload folder": hashed / "notes.md",
             "symlinked folder in upload folder": tmp_path / "gradio" / ("cd" * 32) / "secret.md"}
    WATCHED.clear()
    WATCHED.update(str(p) for p in [*paths.values(), md.resolve(), csv.resolve()])
    OPENED.clear()
    yield {"token": token.encode(), "paths": paths}
    WATCHED.clear()


def _ref(path: str, **extra: Any) -> dict[str, Any]:
    return {"path": path, "meta": {"_type": "gradio.FileData"}, "orig_name": "x.md", **extra}


def _index_state(a: Assistant) -> tuple[list[str], set[str]]:
    return sorted(d.doc_id for d in a.documents()), a.store().vector_ids()


def _copies(folder: Path, token: bytes) -> list[Path]:
    """Regular files under ``folder`` holding ``token`` (links are not followed: the test planted them)."""
    found = []
    for root, _dirs, names in os.walk(folder):
        for name in names:
            p = Path(root) / name
            if p.is_file() and not p.is_symlink() and token in p.read_bytes():
                found.append(p)
    return found


def _refusals(url: str, auth: tuple[str, str] | None, refs: dict[str, Any],
              monkeypatch: pytest.MonkeyPatch) -> dict[str, str]:
    """Each reference sent bare, as a client on another machine would; returns the page's answers."""
    from gradio_client import Client
    from gradio_client.client import Endpoint
    from gradio_client.exceptions import AppError

    answers = {}
    with monkeypatch.context() as m:
        m.setattr(Endpoint, "_upload_file", lambda self, f, data_index: f)  # send the reference as is
        client = Client(url, auth=auth, verbose=False)
        for case, ref in refs.items():
            try:
                answers[case] = str(client.predict([ref], api_name="/upload")[0])
            except AppError as exc:
                answers[case] = exc.message
    return answers


@pytest.mark.parametrize("signed_in", [False, True], ids=["loopback-no-sign-in", "signed-in"])
def test_forged_file_references_are_refused_and_nothing_is_read(
        page: Assistant, secrets: dict[str, Any], tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
        signed_in: bool) -> None:
    from gradio.utils import get_upload_folder
    from gradio_client import Client, handle_file

    auth = ("ada", "correct horse") if signed_in else None
    if auth:
        page.settings = replace(page.settings, auth=hash_line(*auth, n=2**4))
    before = _index_state(page)
    refs: dict[str, Any] = {case: _ref(str(p)) for case, p in secrets["paths"].items()}
    refs["url"] = _ref("http://127.0.0.1:9/secret.md")
    refs["no meta tag"] = {"path": str(secrets["paths"]["existing"])}
    refs["nested in a list"] = [_ref(str(secrets["paths"]["existing"]))]
    with running_app(page) as url:
        assert get_upload_folder() == str(tmp_path / "gradio")  # the folder walked below is Gradio's
        if auth:  # sign-in is really on: without it the client cannot even read the page's API
            with pytest.raises(ValueError, match="(?i)login|auth|config"):
                Client(url, verbose=False)
        answers = _refusals(url, auth, refs, monkeypatch)
        assert answers == dict.fromkeys(refs, REFUSED)  # one message: existing and missing look the same
        assert OPENED == [], f"the page opened {OPENED}"
        assert _copies(tmp_path / "gradio", secrets["token"]) == []
        assert _index_state(page) == before

        # a genuine upload of the same kind still works, for the same (signed-in) client
        note = write(tmp_path / "client" / "office-note.md", "# Office Note\n\nDesks are cheaper than churn.\n")
        message, _rows = Client(url, auth=auth, verbose=False).predict([handle_file(str(note))],
                                                                       api_name="/upload")
    assert message == "✓ Indexed 1 file(s): Office Note"
    docs, vectors = _index_state(page)
    assert len(docs) == len(before[0]) + 1 and vectors > before[1]


def test_upload_function_refuses_files_gradio_did_not_receive(page: Assistant, secrets: dict[str, Any],
                                                              tmp_path: Path) -> None:
    """The event's function checks again, so a page built without the guard still reads nothing."""
    folder = tmp_path / "gradio"
    before = _index_state(page)
    for path in secrets["paths"].values():
        assert upload(page, [str(path)], folder=folder)[0] == REFUSED
    assert OPENED == [] and _index_state(page) == before
    received = write(folder / ("ef" * 32) / "office-note.md", "# Office Note\n\nDesks are cheaper than churn.\n")
    assert upload(page, [str(received)], folder=folder)[0] == "✓ Indexed 1 file(s): Office Note"
