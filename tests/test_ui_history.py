"""The page's answer library: History tab logic, and a real Chromium opening, exporting and deleting."""

from __future__ import annotations

import os
import shutil
import subprocess
from pathlib import Path

import pytest

from assistant import Assistant, Settings
from assistant.app.session import Session
from assistant.app.ui import respond
from assistant.app.ui_library import delete_saved, doc_choices, export_last, history_rows, open_saved
from tests.library_support import citing_assistant
from tests.ui_support import CitingGenerator, running_app

pytestmark = pytest.mark.integration
CHROMIUM = shutil.which("chromium") or "/usr/bin/chromium"
MOTION = "Remote work makes companies more productive in the age of AI"


def test_history_functions_open_export_delete(seeded_index: Path, tmp_path: Path, real_embedder) -> None:  # type: ignore[no-untyped-def]
    a = citing_assistant(seeded_index, tmp_path, real_embedder)
    home = a.find("homeward-bound.md").doc_id
    assert ("Homeward Bound (homeward-bound.md)", home) in doc_choices(a)
    s = Session()
    final = list(respond(a, MOTION, [], "Brief", 4, 0.2, 0, s, [home]))[-1]
    assert s.last is not None and {q.doc_id for q in s.last.quotes if q.verified} == {home}
    assert "Arguments FOR" in final[0][-1]["content"]
    assert export_last(a, s, "docx").endswith("brief.docx")
    (row,) = history_rows(a)
    status, md, html, path, chat, chat_html, session = open_saved(a, str(row[0]), "pdf", None)
    assert status.startswith("✓ Opened") and md.startswith("# Debate brief") and "<mark>" in html
    assert path.endswith(".pdf") and chat[-1]["content"] == md and session.last.request == MOTION
    assert open_saved(a, "999", "pdf", None)[0].startswith("⚠ no saved answer #999")
    assert delete_saved(a, str(row[0])) == (f"✓ Deleted #{row[0]}: {MOTION}", [])


@pytest.mark.skipif(not Path(CHROMIUM).exists(), reason="Debian chromium not installed (make test installs it)")
def test_real_browser_history_tab_after_restart(seeded_index: Path, tmp_path: Path, real_embedder,  # type: ignore[no-untyped-def]
                                                 tmp_path_factory: pytest.TempPathFactory) -> None:
    import docx
    from playwright.sync_api import expect, sync_playwright

    artifacts = Path(os.environ.get("ASSISTANT_TEST_ARTIFACTS") or tmp_path_factory.mktemp("artifacts"))
    artifacts.mkdir(parents=True, exist_ok=True)
    yesterday = citing_assistant(seeded_index, tmp_path, real_embedder)
    yesterday.brief(MOTION)
    hid = yesterday.last_saved
    yesterday.close()  # the server stops; a new one starts on the same index
    today = Assistant(Settings.load(index_dir=yesterday.settings.index_dir), embedder=real_embedder,
                      generator=CitingGenerator())
    with running_app(today) as url, sync_playwright() as pw:
        browser = pw.chromium.launch(executable_path=CHROMIUM, args=[
            "--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking"])
        page = browser.new_page(accept_downloads=True)
        page.goto(url, wait_until="domcontentloaded")
        page.get_by_role("tab", name="History").click()
        expect(page.locator("#history").get_by_role("gridcell", name=MOTION)).to_be_visible(timeout=30_000)
        page.locator("#history-id textarea").fill(str(hid))
        page.locator("#history-open").click()
        expect(page.locator("#history-answer").get_by_text("Arguments FOR the motion")).to_be_visible(timeout=30_000)
        expect(page.locator("#history-sources mark").first).to_be_visible()
        with page.expect_download() as dl:
            page.locator("#history-export").click()
        saved = artifacts / "history-brief.docx"
        dl.value.save_as(saved)
        assert docx.Document(str(saved)).paragraphs[0].text == MOTION
        page.locator("#history-format").get_by_label("pdf").check()
        expect(page.locator("#history-status")).to_contain_text(f"Opened #{hid}", timeout=30_000)
        page.wait_for_timeout(1500)  # the export file is regenerated for the new format
        with page.expect_download() as dl:
            page.locator("#history-export").click()
        pdf = artifacts / "history-brief.pdf"
        dl.value.save_as(pdf)
        assert pdf.read_bytes().startswith(b"%PDF")
        page.screenshot(path=str(artifacts / "history.png"), full_page=True)
        page.get_by_role("tab", name="Chat").click()
        expect(page.locator("#chat").get_by_text("Arguments AGAINST the motion")).to_be_visible(timeout=10_000)
        page.get_by_role("tab", name="History").click()
        page.locator("#history-delete").click()
        expect(page.locator("#history-status")).to_contain_text(f"Deleted #{hid}", timeout=30_000)
        browser.close()
    assert today.history().entries() == []
    if shutil.which("pdftoppm"):
        subprocess.run(["pdftoppm", "-png", "-r", "70", "-f", "1", "-l", "1", str(pdf), str(artifacts / "brief-pdf")],
                       check=True, timeout=60)
        assert list(artifacts.glob("brief-pdf*.png"))
    print(f"screenshots and exports in {artifacts}")
