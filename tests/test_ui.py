"""The Gradio page: logic, the HTTP API via gradio_client, and a real headless Chromium."""

from __future__ import annotations

import os
import shutil
from pathlib import Path

import pytest

from assistant import Assistant
from assistant.app.session import Session
from assistant.app.ui import build_app, respond, upload
from assistant.output.render import sources_html
from tests.conftest import write
from tests.docs_factory import make_pdf
from tests.ui_support import CitingGenerator, running_app

pytestmark = pytest.mark.integration
CHROMIUM = shutil.which("chromium") or "/usr/bin/chromium"


@pytest.fixture
def ui_assistant(seeded_assistant: Assistant) -> Assistant:
    seeded_assistant._generator = CitingGenerator()
    return seeded_assistant


def _turn(a: Assistant, text: str, mode: str = "Ask", session: Session | None = None):  # type: ignore[no-untyped-def]
    return list(respond(a, text, [], mode, 4, 0.2, 0, session or Session()))


def test_turn_streams_then_shows_verified_answer_and_sources(ui_assistant: Assistant) -> None:
    steps = _turn(ui_assistant, "Does working from home hurt productivity?")
    assert len(steps) >= 3  # placeholder, streamed progress, final
    middle = steps[1:-1]
    # Sources first: the panel is filled, and the chat says what is being read, before anything is written.
    assert "Reading" in middle[0][0][-1]["content"] and "id='src-P1'" in middle[0][1]
    assert any("Writing the answer" in s[0][-1]["content"] for s in middle)
    assert not any('{"' in s[0][-1]["content"] for s in middle)  # never raw JSON
    history, html, download, session = steps[-1]
    assert "(#src-P1)" in history[-1]["content"] and "✓" in history[-1]["content"]
    assert "id='src-P1'" in html and "<mark>" in html
    assert Path(download).read_text().startswith("# Answer:")
    assert session.last is not None and session.last.verified_count == 2


def test_empty_message_gets_a_visible_message(ui_assistant: Assistant) -> None:
    (history, *_), = _turn(ui_assistant, "   ")
    assert history[-1]["content"].startswith("⚠ Type a question")


def test_follow_up_reuses_passages(ui_assistant: Assistant) -> None:
    s = Session()
    _turn(ui_assistant, "Does working from home hurt productivity?", session=s)
    first = s.last
    _turn(ui_assistant, "Does working from home hurt productivity in the UK?", session=s)
    assert s.last is not None and first is not None and s.last.passages == first.passages


def test_uploads_check_type_size_and_content(ui_assistant: Assistant, tmp_path: Path) -> None:
    msg, rows = upload(ui_assistant, [str(write(tmp_path / "x.exe", b"MZ\x00"))])
    assert msg.startswith("⚠ Not accepted: x.exe") and len(rows) == 4
    msg, rows = upload(ui_assistant, [str(write(tmp_path / "bin.txt", b"\x00\x01" * 50))])
    assert "binary file" in msg and len(rows) == 4
    big = write(tmp_path / "big.md", "word " * 5_000_000)
    msg, rows = upload(ui_assistant, [str(big)])
    assert "too large" in msg and len(rows) == 4
    msg, rows = upload(ui_assistant, [str(write(tmp_path / "p.pdf", make_pdf(["Hybrid work keeps talent."])))])
    assert msg.startswith("✓ Indexed 1") and len(rows) == 5


def test_sources_html_escapes_document_text(ui_assistant: Assistant, tmp_path: Path) -> None:
    upload(ui_assistant, [str(write(tmp_path / "x.md", "<script>alert(1)</script> Remote work is fine.\n"))])
    steps = _turn(ui_assistant, "script alert remote work fine")
    html = sources_html(steps[-1][3].last)
    assert "<script>" not in html and "&lt;script&gt;" in html


def test_build_app_takes_the_assistant(ui_assistant: Assistant) -> None:
    app = build_app(ui_assistant)
    assert app.title == "Debate assistant"


def test_gradio_client_calls_the_api(ui_assistant: Assistant) -> None:
    from gradio_client import Client

    with running_app(ui_assistant) as url:
        client = Client(url, verbose=False)
        history, html, download = client.predict(
            "Will AI send remote jobs offshore?", [], "Brief", 4, 0.2, 0, api_name="/chat")
        text = history[-1]["content"] if isinstance(history[-1], dict) else str(history[-1])
        assert "Arguments FOR" in str(text) and "Arguments AGAINST" in str(text)
        assert "src-P1" in html


@pytest.mark.skipif(not Path(CHROMIUM).exists(), reason="Debian chromium not installed (make test installs it)")
def test_real_browser_chat_citation_brief_download_upload(ui_assistant: Assistant, tmp_path: Path,
                                                          tmp_path_factory: pytest.TempPathFactory) -> None:
    from playwright.sync_api import expect, sync_playwright

    artifacts = Path(os.environ.get("ASSISTANT_TEST_ARTIFACTS") or tmp_path_factory.mktemp("artifacts"))
    artifacts.mkdir(parents=True, exist_ok=True)
    note = write(tmp_path / "office-note.md", "---\ntitle: Office Note\n---\n\nDesks are cheaper than churn.\n")
    with running_app(ui_assistant) as url, sync_playwright() as pw:
        browser = pw.chromium.launch(executable_path=CHROMIUM, args=[
            "--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking"])
        page = browser.new_page(accept_downloads=True)
        page.goto(url, wait_until="domcontentloaded")
        page.locator("#prompt textarea").fill("Does working from home hurt productivity?")
        page.locator("#send").click()
        answer = page.locator("#chat").get_by_text("quotes verified")
        expect(answer).to_be_visible(timeout=60_000)
        page.locator("#chat a[href='#src-P1']").first.click()
        expect(page.locator("#src-P1")).to_have_class("src active", timeout=5_000)
        expect(page.locator("#src-P1 mark").first).to_be_visible()

        page.get_by_label("Brief").check()
        page.locator("#prompt textarea").fill("Remote work makes companies more productive")
        page.locator("#send").click()
        expect(page.locator("#chat").get_by_text("Arguments AGAINST the motion")).to_be_visible(timeout=60_000)
        with page.expect_download() as dl:
            page.locator("#download").click()
        saved = artifacts / "brief.md"
        dl.value.save_as(saved)
        assert saved.read_text().startswith("# Debate brief:")
        page.get_by_role("button", name="Correct a side").click()  # two cards of the brief, set to another side
        page.locator("#side-card input").click()
        page.get_by_role("option").nth(0).click()
        page.get_by_role("option").nth(1).click()
        page.keyboard.press("Escape")
        page.get_by_label("Neither: not evidence for a side").check()
        page.locator("#side-save").click()
        expect(page.locator("#side-status")).to_contain_text("✓ Saved 2 sentences", timeout=10_000)
        assert len(ui_assistant.sides().for_request("Remote work makes companies more productive")) == 2
        page.screenshot(path=str(artifacts / "chat.png"), full_page=True)

        page.get_by_role("tab", name="Documents").click()
        page.locator("#upload input[type=file]").set_input_files(str(note))
        expect(page.locator("#docs").get_by_text("Office Note")).to_be_visible(timeout=60_000)
        page.screenshot(path=str(artifacts / "documents.png"), full_page=True)
        browser.close()
    print(f"screenshots in {artifacts}")


class SlowGenerator(CitingGenerator):
    """Streams one piece every 20 ms, so a test can press Stop mid-answer."""

    def generate(self, messages, *, schema=None, max_tokens=512, temperature=0.2, on_token=None):  # type: ignore[no-untyped-def]
        import time

        def slow(piece: str) -> None:
            time.sleep(0.02)
            if on_token:
                on_token(piece)

        return super().generate(messages, schema=schema, max_tokens=max_tokens, temperature=temperature,
                                on_token=slow)


def test_stop_ends_the_request_and_the_session_stays_usable(seeded_assistant: Assistant) -> None:
    seeded_assistant._generator = SlowGenerator()
    s = Session()
    frames = respond(seeded_assistant, "Remote work makes companies more productive", [], "Brief", 4, 0.2, 0, s)
    for frame in frames:
        if "Writing the arguments FOR" in frame[0][-1]["content"]:
            s.stop.set()  # what the Stop button does
    assert frame[0][-1]["content"].startswith("*Stopped.*")
    assert s.last is None and len(seeded_assistant.documents()) == 4
    final = _turn(seeded_assistant, "Does working from home hurt productivity?", session=s)[-1]
    assert "quotes verified" in final[0][-1]["content"]


def test_two_clients_at_once_get_their_own_answers(ui_assistant: Assistant) -> None:
    from gradio_client import Client

    with running_app(ui_assistant) as url:
        jobs = [Client(url, verbose=False).submit(q, [], mode, 4, 0.2, 0, api_name="/chat")
                for q, mode in (("Will AI send remote jobs offshore?", "Ask"),
                                ("Working from home is not proper work", "Rebut"))]
        first, second = (job.result(timeout=120)[0] for job in jobs)
    assert len(first) == 2 and len(second) == 2  # each history holds only its own turn
    assert "offshore" in str(first[0]) and "Rebuttal" in str(second[-1])
