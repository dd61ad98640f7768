"""Grammar checked on the sampled token only (sampler.py) on the real tiny SmolLM2-135M model.

What must hold whichever way the grammar is applied: output is JSON that
validates against the mode's schema, evidence ids come from the enum, greedy
decoding is deterministic and the lazy check picks the same tokens as the
full one. Speed is measured in benchmarks/bench_generate.py, not here.
"""

from __future__ import annotations

import json

import jsonschema
import pytest

from assistant.config import Settings
from assistant.llm import models
from assistant.llm.local import LlamaGenerator
from assistant.llm.sampler import Sampler, schema_grammar
from assistant.writing.schemas import schema_for

pytestmark = pytest.mark.integration

IDS = ["S1", "S2", "S3", "S4"]
SOURCES = ("S1 Remote workers produced 13% more calls in a two-year trial.\n"
           "S2 Offices cost firms about $12,000 per desk each year.\n"
           "S3 Managers say junior staff learn less when nobody is in the office.\n"
           "S4 Commuting takes an hour a day from the average worker.\n")
REQUESTS = {"ask": "Question: is remote work productive?",
            "brief": "Motion: remote work makes companies more productive.",
            "steelman": "Position: companies should bring staff back to the office.",
            "rebut": "Claim: working from home is not proper work."}


@pytest.fixture(scope="module")
def tiny() -> LlamaGenerator:
    s = Settings.load()
    entry = models.find_entry(models.load_registry(s.models_file), "test")
    return LlamaGenerator(models.ensure(entry, s.models_dir), name=entry.name, n_ctx=4096, threads=2)


def _messages(mode: str) -> list[dict[str, str]]:
    return [{"role": "system", "content": "Answer in JSON, citing sentence ids."},
            {"role": "user", "content": SOURCES + REQUESTS[mode]}]


# The schemas cap every string and list, so a brief is at most ~4,800 characters of JSON. 1,200 tokens was
# too few on some CPUs: greedy, the tiny model fills strings with "S1.1.1.1...", and closed the brief
# after 1,547 tokens (2026-12-01, an AMX Xeon); the grammar still closes it, given room.
CAP = 3000


def _cold(gen: LlamaGenerator, mode: str, *, lazy: bool, max_tokens: int = CAP, temperature: float = 0.0):  # type: ignore[no-untyped-def]
    """One generation from an empty KV cache (reused prefixes change the numerics slightly)."""
    gen.llm.reset()
    gen.lazy_grammar = lazy
    try:
        return gen.generate(_messages(mode), schema=schema_for(mode, IDS), max_tokens=max_tokens,
                            temperature=temperature)
    finally:
        gen.lazy_grammar = True


@pytest.mark.parametrize("mode", list(REQUESTS))
def test_fast_path_output_validates_against_every_modes_schema(tiny: LlamaGenerator, mode: str) -> None:
    gen = _cold(tiny, mode, lazy=True)
    assert gen.completion_tokens < CAP, "ran into the token cap: the grammar did not close the JSON"
    data = json.loads(gen.text)
    jsonschema.validate(data, schema_for(mode, IDS))  # enum of ids, required keys, list and length caps


def test_lazy_and_full_grammar_give_the_same_greedy_output(tiny: LlamaGenerator) -> None:
    fast = _cold(tiny, "ask", lazy=True)
    full = _cold(tiny, "ask", lazy=False)
    for gen in (fast, full):
        jsonschema.validate(json.loads(gen.text), schema_for("ask", IDS))
    assert fast.text == full.text


def test_sampling_with_a_seed_is_repeatable_and_valid(tiny: LlamaGenerator) -> None:
    one = _cold(tiny, "rebut", lazy=True, temperature=0.8)
    two = _cold(tiny, "rebut", lazy=True, temperature=0.8)
    assert one.text == two.text
    jsonschema.validate(json.loads(one.text), schema_for("rebut", IDS))


def test_grammar_check_on_one_token_rejects_what_the_schema_forbids(tiny: LlamaGenerator) -> None:
    llm = tiny.llm
    brace, word = (llm.tokenize(t.encode(), add_bos=False, special=False)[0] for t in ("{", "Hello"))
    with Sampler(llm, temperature=0.0, seed=0, grammar=schema_grammar(schema_for("ask", IDS))) as sampler:
        assert sampler.allows(brace) and not sampler.allows(word)
        sampler.accept(brace)
        assert not sampler.allows(brace)  # '{{' is not JSON


def test_strings_cannot_hold_raw_control_characters(tiny: LlamaGenerator) -> None:
    """JSON strings forbid a raw newline; llama-cpp-python's own converter allowed it (sampler.CHAR_RULE)."""
    llm = tiny.llm
    schema = {"type": "object", "properties": {"a": {"type": "string"}}, "required": ["a"],
              "additionalProperties": False}
    tokens = lambda text: llm.tokenize(text.encode(), add_bos=False, special=False)  # noqa: E731
    with Sampler(llm, temperature=0.0, seed=0, grammar=schema_grammar(schema)) as sampler:
        for token in tokens('{"a": "x'):
            assert sampler.allows(token)
            sampler.accept(token)
        assert sampler.allows(tokens("y")[0]) and sampler.allows(tokens('"')[0])
        assert not sampler.allows(tokens("\n")[0]) and not sampler.allows(tokens("\t")[0])


def test_evidence_outside_the_enum_is_never_sampled(tiny: LlamaGenerator) -> None:
    """The sources name S1-S4, but only S2 may be cited: every evidence list says S2 or nothing."""
    tiny.llm.reset()
    schema = schema_for("ask", ["S2"])
    gen = tiny.generate(_messages("ask"), schema=schema, max_tokens=600, temperature=0.0)
    data = json.loads(gen.text)
    jsonschema.validate(data, schema)
    assert all(set(p["evidence"]) <= {"S2"} for p in data["points"])


def test_cut_short_output_is_still_a_prefix_of_valid_json(tiny: LlamaGenerator) -> None:
    gen = _cold(tiny, "brief", lazy=True, max_tokens=12)
    assert gen.completion_tokens == 12 and gen.text.startswith("{")
