"""The real llama.cpp generator on the tiny SmolLM2-135M model (fast), and the default model (slow)."""

from __future__ import annotations

import pytest

from assistant import Assistant
from assistant.config import Settings
from assistant.llm import models
from assistant.llm.base import parse_json
from assistant.llm.local import LlamaGenerator
from assistant.writing.schemas import schema_for

pytestmark = pytest.mark.integration


@pytest.fixture(scope="session")
def tiny() -> LlamaGenerator:
    s = Settings.load()
    entry = models.find_entry(models.load_registry(s.models_file), "test")
    return LlamaGenerator(models.ensure(entry, s.models_dir), name=entry.name, n_ctx=2048, threads=2)


def test_grammar_constrained_output_is_valid_json_with_given_ids(tiny: LlamaGenerator) -> None:
    ids = ["S1", "S2", "S3"]
    streamed: list[str] = []
    gen = tiny.generate(
        [{"role": "user", "content": "S1 Remote work raised output.\nS2 Offices cost money.\nS3 Bosses disagree.\n"
                                     "Answer: is remote work productive?"}],
        schema=schema_for("ask", ids), max_tokens=200, temperature=0.0, on_token=streamed.append,
    )
    data = parse_json(gen.text)
    assert set(data) == {"covered", "points", "gaps"}, gen.text
    for point in data["points"]:
        assert set(point["evidence"]) <= set(ids)
    assert "".join(streamed) == gen.text and gen.completion_tokens == len(streamed)
    assert gen.prompt_tokens > 20 and gen.ttft_s > 0


def test_interrupt_mid_generation_leaves_the_model_usable(tiny: LlamaGenerator) -> None:
    def stop(_piece: str) -> None:
        raise KeyboardInterrupt

    with pytest.raises(KeyboardInterrupt):
        tiny.generate([{"role": "user", "content": "Count to fifty."}], max_tokens=64, on_token=stop)
    assert tiny.generate([{"role": "user", "content": "Say hi."}], max_tokens=8, temperature=0.0).text


def test_every_mode_on_the_tiny_model_keeps_structure_and_verifies(seeded_assistant: Assistant,
                                                                   tiny: LlamaGenerator) -> None:
    seeded_assistant._generator = tiny
    for mode, text in [("ask", "Does working from home hurt productivity?"),
                       ("brief", "Remote work makes companies more productive"),
                       ("steelman", "Offices are essential for training junior staff"),
                       ("rebut", "Working from home is not proper work")]:
        ans = seeded_assistant.run(mode, text, k=3)
        assert ans.mode == mode and ans.passages
        # a side the stance step finds empty is said plainly instead of being written from nothing
        assert ans.timings.generated_tokens > 0 or (not ans.quotes and ans.notices), ans
        for q in ans.quotes:
            assert q.verified, q  # grammar limits ids to the given sentences
            assert seeded_assistant.document(q.doc_id).text[q.start:q.end] == q.text


def test_missing_model_file_names_the_fix(tmp_path) -> None:
    from assistant.errors import ModelError

    with pytest.raises(ModelError, match="assistant models verify"):
        LlamaGenerator(tmp_path / "gone.gguf")
