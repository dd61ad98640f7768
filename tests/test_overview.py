"""The overview mode: key points per side with prevalence and cards, through the CLI, the API, exports and the page.

Real embedder and real Chroma in tmp_path throughout. Two models: the tiny GGUF through the CLI as a
subprocess (it labels most sentences neutral, so that test pins the shape and the notices), and a
scripted stance model (``tests/fakes.FakeStanceGenerator``: a sentence's side is read from its words)
where the test is about which sentences land under which key point.
"""

from __future__ import annotations

import json
import math
import os
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path

import pytest

from assistant import Assistant, Settings
from assistant.app.session import Session
from assistant.app.ui import MODES, respond
from assistant.types import Answer
from assistant.writing import keypoints
from tests.conftest import REPO, write
from tests.fakes import FakeStanceGenerator

pytestmark = pytest.mark.integration
MOTION = "Cities should ban cars from their centres"
PRO = {
    "cars-out.md": "# Car-free centres clean the air\n\n"
    "Banning cars from city centres cuts air pollution sharply. When Oslo closed its centre to cars, air "
    "pollution fell within a year. Fewer cars in the centre mean cleaner air for everyone who lives there. "
    "Car bans reduce the exhaust fumes that children breathe on their way to school.\n\n"
    "Streets without cars are safer for people on foot. Pedestrians are injured far less often once cars "
    "leave the centre. A car-free centre lets children walk and cycle safely.\n",
}
CON = {
    "cars-stay.md": "# Shops need drivers\n\n"
    "Banning cars from city centres hurts small shops. Shopkeepers in Madrid reported that customers stopped "
    "coming after the car ban. Many small shops lose business when drivers can no longer park near them. "
    "Retailers say a car ban drives shoppers to malls outside town.\n\n"
    "Disabled people depend on cars to reach the centre. A car ban cuts off elderly and disabled residents "
    "who cannot walk far. Without cars, people with limited mobility lose access to the centre.\n",
}
NOTES = {
    "city-notes.md": "# Notes on city centres\n\n"
    "The city council meets on Tuesdays. Air pollution in the centre dropped once traffic was kept out. Our "
    "town hall was built in 1890. Pedestrian injuries fell after the streets were closed to traffic. Some "
    "shop owners fear losing customers if cars are banned. Walking in the centre became safer for pedestrians "
    "after the ban. Elderly residents with limited mobility still need to drive into the centre.\n",
}
PRO_WORDS = ("pollution", "air", "fumes", "pedestrian", "safer", "safely", "injur")
CON_WORDS = ("shop", "retailer", "customer", "disabled", "mobility", "elderly", "business")


def stance_of(text: str) -> str:
    """The scripted model's reading: a sentence's side is in its words (headings and chatter are neutral)."""
    low = text.lower()
    if text.startswith("#") or not any(w in low for w in PRO_WORDS + CON_WORDS):
        return "neutral"
    return "support" if any(w in low for w in PRO_WORDS) else "oppose"


def write_library(folder: Path) -> Path:
    """The car-ban essays (FOR, AGAINST and notes) as files in ``folder``."""
    for name, text in {**PRO, **CON, **NOTES}.items():
        write(folder / name, text)
    return folder


def library_assistant(tmp_path: Path, embedder: object, generator: object) -> Assistant:
    """An assistant on a fresh index of the car-ban essays, with ``generator`` as its model."""
    a = Assistant(Settings.load(index_dir=tmp_path / "index"), embedder=embedder,  # type: ignore[arg-type]
                  generator=generator)  # type: ignore[arg-type]
    a.ingest([write_library(tmp_path / "library")], show_progress=False)
    return a


def cli_at(index: Path) -> Callable[..., subprocess.CompletedProcess[str]]:
    """``assistant ARGS`` as a subprocess on ``index``."""
    env = {**os.environ, "ASSISTANT_INDEX": str(index)}

    def cli(*args: str) -> subprocess.CompletedProcess[str]:
        return subprocess.run([sys.executable, "-m", "assistant", *args], capture_output=True, text=True, env=env,
                              cwd=REPO, timeout=600)

    return cli


@pytest.fixture
def library(tmp_path: Path, real_embedder) -> Assistant:  # type: ignore[no-untyped-def]
    return library_assistant(tmp_path, real_embedder, FakeStanceGenerator(stance_of))


def _listed(answer: Answer, section: str) -> list[str]:
    return [q.text for p in answer.points if p.section == section for q in p.verified_quotes]


def test_key_points_per_side_with_prevalence_and_cards(library: Assistant) -> None:
    answer = library.run("overview", MOTION)
    for_points = [p for p in answer.points if p.section == "keypoint_for"]
    against = [p for p in answer.points if p.section == "keypoint_against"]
    assert for_points and against, answer.notices
    # No sentence under the wrong side; the notes' neutral chatter is never listed.
    assert all(stance_of(t) == "support" for t in _listed(answer, "keypoint_for"))
    assert all(stance_of(t) == "oppose" for t in _listed(answer, "keypoint_against"))
    shown = [t for p in answer.points for t in (p.text, *(q.text for q in p.quotes))]
    assert not any("town hall" in t or "Tuesdays" in t for t in shown)
    sides = {"keypoint_for": "support", "keypoint_against": "oppose"}
    for points in (for_points, against):
        total = points[0].prevalence.side_total
        assert sum(p.prevalence.sentences for p in points) <= total
        counts = [p.prevalence.sentences for p in points]
        assert counts == sorted(counts, reverse=True)
        for p in points:
            assert len(p.text.split()) <= keypoints.MAX_WORDS
            assert p.prevalence.sentences == len(p.quotes) == len(p.verified_quotes)  # every card verified
            assert p.prevalence.documents == len({q.doc_id for q in p.quotes})
            assert all(q.stance == sides[p.section] for q in p.quotes)
            assert p.prevalence.share == round(p.prevalence.sentences / total, 4)
    listed = [(q.doc_id, q.start) for p in answer.points for q in p.quotes]
    assert len(listed) == len(set(listed))  # a sentence is under one key point at most
    assert any("argue neither side" in n for n in answer.notices)
    assert answer.gates.evidence_reused == 0


class DoubtingGenerator(FakeStanceGenerator):
    """The scripted stance model, which also says "no" when asked whether a sentence about shops makes a key point."""

    def label_logprobs(self, messages, tails, labels, on_progress=None):  # type: ignore[no-untyped-def]
        if labels != [" yes", " no"]:
            return super().label_logprobs(messages, tails, labels, on_progress)
        self.scored.append(list(tails))
        return [{" yes": math.log(0.2 if "shop" in t.lower() else 0.9),
                 " no": math.log(0.8 if "shop" in t.lower() else 0.1)} for t in tails]


def test_a_card_the_model_says_does_not_make_its_key_point_is_not_listed(tmp_path: Path, real_embedder) -> None:  # type: ignore[no-untyped-def]
    plain = library_assistant(tmp_path / "plain", real_embedder, FakeStanceGenerator(stance_of)).run("overview", MOTION)
    assert any("shop" in t.lower() for t in _listed(plain, "keypoint_against"))  # embeddings alone list them
    model = DoubtingGenerator(stance_of)
    checked = library_assistant(tmp_path / "checked", real_embedder, model).run("overview", MOTION)
    assert not any("shop" in t.lower() for t in _listed(checked, "keypoint_against"))
    assert _listed(checked, "keypoint_against")  # the other AGAINST cards stay
    dropped = len(_listed(plain, "keypoint_against")) - len(_listed(checked, "keypoint_against"))
    assert checked.gates.keypoint_unconfirmed == dropped > 0
    assert any("match none of its key points" in n for n in checked.notices)
    asked = [t for batch in model.scored for t in batch if "The tag states what the evidence says" in t]
    assert len(asked) == sum(len(p.quotes) for p in plain.points)  # one check per card, nothing else


def test_k_caps_key_points_per_side_and_doc_scopes_them(library: Assistant) -> None:
    full, capped = library.run("overview", MOTION), library.run("overview", MOTION, k=1)
    counts = {s: [len([p for p in a.points if p.section == s]) for a in (full, capped)]
              for s in ("keypoint_for", "keypoint_against")}
    assert max(n for n, _ in counts.values()) >= 2 and all(n <= 1 for _, n in counts.values()), counts
    scoped = library.run("overview", MOTION, docs=["cars-out.md"])
    assert {q.title for q in scoped.quotes} == {"Car-free centres clean the air"}
    assert not [p for p in scoped.points if p.section == "keypoint_against"]
    assert any("little evidence AGAINST" in n for n in scoped.notices)  # a thin side says so


def test_exports_history_and_markdown_carry_the_counts(library: Assistant, tmp_path: Path) -> None:
    import docx
    from pypdf import PdfReader

    answer = library.run("overview", MOTION)
    first = next(p for p in answer.points if p.section == "keypoint_for")
    md = library.export(answer, tmp_path / "o.md").read_text(encoding="utf-8")
    assert md.startswith(f"# Library overview: {MOTION}") and "## Key points FOR the motion" in md
    assert f"{first.prevalence.sentences} sentences from" in md and "✓ verbatim" in md
    doc = docx.Document(str(library.export(answer, tmp_path / "o.docx")))
    tags = [p.text for p in doc.paragraphs if p.style.name == "Heading 4"]
    assert first.text in tags  # the key point is the card's tag
    assert any("sentences on this side" in p.text for p in doc.paragraphs)
    pdf = "".join(page.extract_text() for page in PdfReader(str(library.export(answer, tmp_path / "o.pdf"))).pages)
    assert "AGAINST the motion" in pdf and first.quotes[0].text.split()[0] in pdf
    saved = library.saved(library.last_saved or 0).answer
    assert saved.mode == "overview" and [p.prevalence for p in saved.points] == [p.prevalence for p in answer.points]
    data = json.loads(library.export(answer, tmp_path / "o.json").read_text(encoding="utf-8"))
    assert data["claims"][0]["prevalence"]["side_total"] == first.prevalence.side_total


def test_the_page_has_an_overview_button_and_streams_key_points(library: Assistant) -> None:
    assert MODES["Overview"] == "overview"
    frames = list(respond(library, MOTION, [], "Overview", 2, 0.2, 0, Session()))
    shown = [f[0][-1]["content"] for f in frames]
    assert any("Finding the key points FOR" in s for s in shown[:-1])
    assert any("**Key points FOR the motion**" in s and "sentences on this side" in s for s in shown[:-1])
    assert "## Key points AGAINST the motion" in shown[-1] and "(#src-P" in shown[-1]


@pytest.mark.slow
def test_cli_overview_with_the_tiny_model(tmp_path: Path) -> None:
    cli = cli_at(tmp_path / "index")
    assert cli("ingest", str(write_library(tmp_path / "library"))).returncode == 0
    out = tmp_path / "overview.md"
    proc = cli("--model", "test", "overview", MOTION, "--k", "2", "--json", "--out", str(out))
    assert proc.returncode == 0, proc.stderr
    data = json.loads(proc.stdout)
    assert data["mode"] == "overview" and len(data["passages"]) <= 40 and len(data["sentences"]) <= 160
    for side in ("keypoint_for", "keypoint_against"):  # each side: key points, or a notice saying why none
        claims = [c for c in data["claims"] if c["side"] == side]
        word = "FOR" if side == "keypoint_for" else "AGAINST"
        assert len(claims) <= 2 and (claims or any(word in n for n in data["notices"]))
        for c in claims:
            assert c["prevalence"]["sentences"] == len(c["quotes"]) and all(q["verified"] for q in c["quotes"])
    assert out.read_text(encoding="utf-8").startswith(f"# Library overview: {MOTION}")
    listed = json.loads(cli("history", "--json").stdout)
    assert listed[0]["mode"] == "overview"
