"""Nothing cold on the first request: ``Assistant.warm_up`` and ``LlamaGenerator.warm``.

Compared by prompt tokens evaluated, not seconds: timings on a shared
machine are noise, the count of tokens llama.cpp had to read is not.
"""

from __future__ import annotations

import time
from pathlib import Path
from typing import Any

import pytest

from assistant import Assistant, Settings
from assistant.app.ui import FONTS, build_app, warm_status
from assistant.errors import StoreError
from assistant.llm import models
from assistant.llm.base import Generation
from assistant.llm.local import LlamaGenerator
from assistant.writing import prompts
from tests.fakes import FakeEmbedder, FakeGenerator

SYSTEM = [{"role": "system", "content": "You are a careful debate coach. Cite sentence ids."}]
QUESTION = [*SYSTEM, {"role": "user", "content": "S1 Remote work raised output.\nIs remote work productive?"}]


@pytest.fixture(scope="module")
def tiny() -> LlamaGenerator:
    s = Settings.load()
    entry = models.find_entry(models.load_registry(s.models_file), "test")
    return LlamaGenerator(models.ensure(entry, s.models_dir), name=entry.name, n_ctx=2048, threads=2)


class Recording:
    """The real generator, with each Generation kept so a test can read its token counts."""

    def __init__(self, inner: Any) -> None:
        self.inner, self.generations = inner, []

    def __getattr__(self, name: str) -> Any:
        return getattr(self.inner, name)

    def generate(self, messages, **kw: Any) -> Generation:  # type: ignore[no-untyped-def]
        gen = self.inner.generate(messages, **kw)
        self.generations.append(gen)
        return gen


class SlowWarm(FakeGenerator):
    """Scripted replies; ``warm`` takes a while, like a real model reading the rules."""

    def __init__(self) -> None:
        import threading

        super().__init__()
        self.warmed: list[dict[str, str]] = []
        self.release = threading.Event()  # a test holds the warm-up here to look at the page meanwhile
        self.release.set()

    def warm(self, messages: list[dict[str, str]]) -> int:
        time.sleep(0.6)
        self.release.wait(30)
        self.warmed = messages
        return 1


@pytest.mark.integration
def test_warm_evaluates_the_shared_prefix_once_and_generate_reuses_it(tiny: LlamaGenerator) -> None:
    tiny.llm.reset()
    cold = tiny.generate(QUESTION, max_tokens=4, temperature=0.0)
    assert cold.cached_tokens == 0
    tiny.llm.reset()
    read = tiny.warm(SYSTEM)
    assert 0 < read < cold.prompt_tokens
    assert tiny.warm(SYSTEM) == 0  # already there
    assert tiny.cached_tokens(QUESTION) == read
    warm = tiny.generate(QUESTION, max_tokens=4, temperature=0.0)
    assert warm.cached_tokens == read
    assert warm.prompt_tokens - warm.cached_tokens < cold.prompt_tokens - cold.cached_tokens


@pytest.mark.integration
def test_first_request_after_warm_up_reads_fewer_prompt_tokens(seeded_assistant: Assistant, real_embedder,
                                                               tiny: LlamaGenerator) -> None:
    question = "Does working from home hurt productivity?"
    cold_gen, warm_gen = Recording(tiny), Recording(tiny)
    tiny.llm.reset()
    Assistant(seeded_assistant.settings, embedder=real_embedder, generator=cold_gen).ask(question, max_tokens=8)
    tiny.llm.reset()
    a = Assistant(seeded_assistant.settings, embedder=real_embedder, generator=warm_gen)
    a.warm_up()
    assert a.warm_error is None and set(a.warm_seconds) == {"embedder", "index", "model", "system prefix"}
    assert a.store().lexical.count() > 0  # the persistent lexical index is open and filled before the first request
    a.ask(question, max_tokens=8)
    cold, warm = cold_gen.generations[0], warm_gen.generations[0]
    assert cold.prompt_tokens == warm.prompt_tokens
    assert cold.cached_tokens == 0 and warm.cached_tokens > 20  # the rendered system rules
    assert warm.prompt_tokens - warm.cached_tokens < cold.prompt_tokens


def test_requests_during_a_background_warm_up_wait_for_it(seeded_assistant: Assistant, real_embedder) -> None:
    gen = SlowWarm()
    a = Assistant(seeded_assistant.settings, embedder=real_embedder, generator=gen)
    a.warm_up(background=True)
    assert a.warming and warm_status(a).startswith("⏳ Loading model")
    hits = a.search("remote work productivity", 3)  # waits instead of loading the same parts twice
    assert len(hits) == 3 and not a.warming and warm_status(a) == "✓ Ready"
    assert gen.warmed == [{"role": "system", "content": prompts.render(a.settings.prompts_dir, "system")}]


def test_warm_up_failure_is_shown_and_requests_still_say_why(tmp_path: Path) -> None:
    a = Assistant(Settings.load(index_dir=tmp_path / "none"), embedder=FakeEmbedder(), generator=FakeGenerator())
    a.warm_up()
    assert a.warm_error and "index" in a.warm_error and warm_status(a) == f"⚠ {a.warm_error}"
    with pytest.raises(StoreError):
        a.search("anything", 3)


def test_page_has_a_status_line_and_an_emoji_font(seeded_assistant: Assistant, real_embedder) -> None:
    model = SlowWarm()
    model.release.clear()
    a = Assistant(seeded_assistant.settings, embedder=real_embedder, generator=model)
    a.warm_up(background=True)
    app = build_app(a)
    status = [b for b in app.blocks.values() if getattr(b, "elem_id", None) == "status"]
    assert len(status) == 1 and "Loading model" in status[0].value
    model.release.set()
    a.search("offices", 1)  # waits for the warm-up
    assert warm_status(a) == "✓ Ready"
    assert "Noto Color Emoji" in FONTS and FONTS.index("Noto Color Emoji") > FONTS.index("sans-serif")
