"""Stance label log-probabilities on the real tiny SmolLM2-135M model: batched tails vs one by one.

``label_logprobs`` scores each tail as if it followed the prompt directly.
Batched, the tails share the prompt's KV cells on parallel sequences in one
``llama_decode``; the old way rolls the cache back before every tail. Both
must give the same numbers up to float noise (llama.cpp's sums run in other
orders for other batch shapes and cache layouts: on this model single
log-probabilities move by up to ~0.15, the support/oppose margin by ~0.06 on
average; a tail at the wrong position, or one that saw another tail, moves
them by whole units), and neither may leave anything in the cache that
changes the next generation.
Speed is measured in benchmarks/bench_generate.py, not here.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from assistant.config import Settings
from assistant.llm import models
from assistant.llm.local import PARALLEL_TAILS, LlamaGenerator

pytestmark = pytest.mark.integration

LABELS = [" support", " oppose", " neutral"]
MESSAGES = [{"role": "system", "content": "Label each sentence's stance towards the statement."},
            {"role": "user", "content": "S1 Remote workers produced 13% more calls.\n"
                                        "S2 Managers say junior staff learn less at home.\n"
                                        "STATEMENT: remote work makes companies more productive."}]
SENTENCES = ["Remote workers produced 13% more calls in a two-year trial", "Managers say junior staff learn less",
             "Offices cost firms about $12,000 per desk each year", "Commuting takes an hour a day",
             "Video calls tire people more than meetings in a room", "Output per hour rose in the trial"]
# More tails than one batch takes, of uneven lengths, so grouping and the last short group run too.
NOISE = 0.3  # largest difference allowed in one log-probability
MEAN_NOISE = 0.1  # and in the support/oppose margin, on average over the tails
TAILS = [f'S{i + 1} "{SENTENCES[i % len(SENTENCES)]}{" and more" * (i % 4)}" ->'
         for i in range(PARALLEL_TAILS + 5)]


@pytest.fixture(scope="module")
def tiny() -> LlamaGenerator:
    s = Settings.load()
    entry = models.find_entry(models.load_registry(s.models_file), "test")
    return LlamaGenerator(models.ensure(entry, s.models_dir), name=entry.name, n_ctx=2048, threads=2)


def _labels(gen: LlamaGenerator, *, batched: bool, tails: list[str] = TAILS) -> list[dict[str, float]]:
    gen.batched_labels = batched
    try:
        return gen.label_logprobs(MESSAGES, tails, LABELS)
    finally:
        gen.batched_labels = True


def test_batched_tails_score_like_tails_read_one_by_one(tiny: LlamaGenerator) -> None:
    one_by_one = _labels(tiny, batched=False)
    batched = _labels(tiny, batched=True)
    assert len(batched) == len(one_by_one) == len(TAILS)
    for old, new in zip(one_by_one, batched, strict=True):
        assert set(new) == set(LABELS)
        assert all(v < 0 for v in new.values())  # log-probabilities
        assert max(abs(old[k] - new[k]) for k in LABELS) < NOISE, (old, new)
    assert _mean_margin_gap(one_by_one, batched) < MEAN_NOISE
    # The tails really differ: a broken batch that scored one tail for all would be caught here.
    assert len({round(r[" support"] - r[" oppose"], 3) for r in batched}) > len(TAILS) // 2


def test_a_tail_is_scored_the_same_alone_and_among_others(tiny: LlamaGenerator) -> None:
    among = _labels(tiny, batched=True)
    alone = _labels(tiny, batched=True, tails=[TAILS[7]])
    assert max(abs(among[7][k] - alone[0][k]) for k in LABELS) < NOISE


def test_batched_labels_leave_the_cache_as_a_plain_prompt_would(tiny: LlamaGenerator) -> None:
    ask = [MESSAGES[0], {"role": "user", "content": "Say one word about offices."}]
    tiny.llm.reset()
    before = tiny.generate(ask, max_tokens=12, temperature=0.0).text
    _labels(tiny, batched=True)
    # Same prefix as the labels' prompt: reused from the cache, no tail may leak into it.
    after = tiny.generate(ask, max_tokens=12, temperature=0.0)
    assert after.cached_tokens > 0 and after.text == before


def test_stopping_between_batches_leaves_the_model_usable(tiny: LlamaGenerator) -> None:
    class Stop(Exception):
        pass

    def stop(done: int) -> None:
        if done >= 3:
            raise Stop

    with pytest.raises(Stop):
        tiny.label_logprobs(MESSAGES, TAILS, LABELS, on_progress=stop)
    again = _labels(tiny, batched=True)
    reference = _labels(tiny, batched=False)
    assert max(abs(a[k] - b[k]) for a, b in zip(again, reference, strict=True) for k in LABELS) < NOISE
    assert _mean_margin_gap(again, reference) < MEAN_NOISE


def _mean_margin_gap(a: list[dict[str, float]], b: list[dict[str, float]]) -> float:
    def margin(row: dict[str, float]) -> float:
        return row[" support"] - row[" oppose"]

    return sum(abs(margin(x) - margin(y)) for x, y in zip(a, b, strict=True)) / len(a)


def test_a_long_prefix_survives_a_short_prompt_in_between_and_generates_the_same(tiny: LlamaGenerator) -> None:
    """kv_stash: the sources block is not read again after the stance step's own prompt, and nothing changes."""
    long = [{"role": "system", "content": "You write debate cards."},
            {"role": "user", "content": " ".join(SENTENCES * 12) + "\nWrite one line about S1."}]
    other = [{"role": "system", "content": "Label stance."}, {"role": "user", "content": "Short."}]
    fresh = LlamaGenerator(tiny.path, name=tiny.name, n_ctx=2048, threads=2)
    first = fresh.generate(long, max_tokens=12, temperature=0.0)
    assert first.prompt_tokens > 300 and first.cached_tokens == 0
    fresh.label_logprobs(other, TAILS[:3], LABELS)  # a short prompt of its own in between
    again = fresh.generate(long, max_tokens=12, temperature=0.0)
    assert again.cached_tokens >= first.prompt_tokens - 2, again  # read from the stash, not again
    assert again.text == first.text
    fresh.generate(other, max_tokens=4, temperature=0.0)
    third = fresh.generate(long[:1] + [{"role": "user", "content": long[1]["content"] + " Be brief."}],
                           max_tokens=12, temperature=0.0)
    assert third.cached_tokens > 300  # a longer prompt with the stashed start reuses it too


def test_the_sources_survive_a_rewrite_and_a_check_in_between(tiny: LlamaGenerator) -> None:
    """kv_stash slots: a prompt long enough to be stashed itself (a card rewrite) does not push the sources out.

    With one slot, the rewrite's prompt replaced the stashed sources, and the next step read them all again.
    """
    sources = [{"role": "system", "content": "You write debate cards."},
               {"role": "user", "content": " ".join(SENTENCES * 12) + "\nWrite one line about S1."}]
    rewrite = [{"role": "system", "content": "Rewrite the tags."},
               {"role": "user", "content": " ".join(reversed(SENTENCES)) * 6 + "\nRewrite t1."}]
    check = [{"role": "system", "content": "Label stance."}, {"role": "user", "content": "Short."}]
    fresh = LlamaGenerator(tiny.path, name=tiny.name, n_ctx=4096, threads=2)  # room for both, as in use
    first = fresh.generate(sources, max_tokens=12, temperature=0.0)
    fresh.label_logprobs(check, TAILS[:2], LABELS)  # the sources go to a slot
    redone = fresh.generate(rewrite, max_tokens=8, temperature=0.0)
    assert redone.prompt_tokens >= 256 and redone.cached_tokens < 32  # as long as a card rewrite, nothing shared
    fresh.label_logprobs(check, TAILS[:2], LABELS)  # the rewrite goes to the other slot
    again = fresh.generate(sources, max_tokens=12, temperature=0.0)
    assert again.cached_tokens >= first.prompt_tokens - 2, again
    assert again.text == first.text
    again_rewrite = fresh.generate(rewrite, max_tokens=8, temperature=0.0)
    assert again_rewrite.cached_tokens >= redone.prompt_tokens - 2  # both were kept
    assert again_rewrite.text == redone.text


def test_stashed_prefixes_give_way_to_a_prompt_that_needs_the_room(tiny: LlamaGenerator) -> None:
    """A prompt that needs the cells stashed prefixes hold still runs: the slots are given up first.

    Three stashed prefixes (~330 cells each) and this prompt (~1,400) would not fit 2,048 cells together.
    """
    fresh = LlamaGenerator(tiny.path, name=tiny.name, n_ctx=2048, threads=2)
    for variant in range(len(fresh._stash.slots)):
        fresh.generate([{"role": "system", "content": f"Card writer {variant}."},
                        {"role": "user", "content": " ".join(SENTENCES * 5)}], max_tokens=4, temperature=0.0)
        fresh.label_logprobs([{"role": "system", "content": "Label."}, {"role": "user", "content": "x"}],
                             TAILS[:2], LABELS)
    assert all(s.tokens for s in fresh._stash.slots)
    long = [{"role": "system", "content": "Summarise."}, {"role": "user", "content": " ".join(SENTENCES * 22)}]
    out = fresh.generate(long, max_tokens=8, temperature=0.0)
    assert out.prompt_tokens > 1300 and out.completion_tokens > 0
    assert not any(s.tokens for s in fresh._stash.slots)


def test_the_probes_reads_do_not_depend_on_what_was_read_before(tiny: LlamaGenerator) -> None:
    """tail_logits reads from an empty cache: the same tails give the same logits whatever came before.

    llama.cpp's numbers depend on where a prompt's cells lie in the cache; with stashed prefixes in
    the way, the default model's stance logits moved by up to 0.37 and flipped labels.
    """
    import numpy as np

    ids = list(range(100, 164))
    fresh = LlamaGenerator(tiny.path, name=tiny.name, n_ctx=4096, threads=2)
    first = np.asarray(fresh.tail_logits(MESSAGES, TAILS[:4], ids))
    for variant in range(2):  # two long prompts of other words stashed, the cache's layout changed
        fresh.generate([{"role": "system", "content": f"Card writer {variant}."},
                        {"role": "user", "content": " ".join(SENTENCES * (3 + variant))}], max_tokens=4,
                       temperature=0.0)
        fresh.label_logprobs([{"role": "system", "content": "Label."}, {"role": "user", "content": "x"}],
                             TAILS[:2], LABELS)
    assert any(s.tokens for s in fresh._stash.slots)
    again = np.asarray(fresh.tail_logits(MESSAGES, TAILS[:4], ids))
    assert np.array_equal(first, again)


def test_hidden_states_are_the_same_whatever_was_read_before_or_beside_and_keep_the_main_cache(
        tiny: LlamaGenerator) -> None:
    """tail_states (the stance probe's features, issue 19) reads on a context of its own.

    A tail's row is the same alone, among other tails, after other prompts and after the other
    orientation's prompt, and the main context keeps the prefix it held (no re-reading of the sources).
    """
    import numpy as np

    layer = 15  # SmolLM2-135M has 30 layers
    fresh = LlamaGenerator(tiny.path, name=tiny.name, n_ctx=4096, threads=2)
    alone = np.asarray(fresh.tail_states(MESSAGES, TAILS[2:3], layer))
    assert alone.shape == (1, 576) and np.isfinite(alone).all()
    sources = [{"role": "system", "content": "Card writer."}, {"role": "user", "content": " ".join(SENTENCES * 4)}]
    fresh.generate(sources, max_tokens=4, temperature=0.0)
    held = fresh.cached_tokens(sources)
    other = [MESSAGES[0], {"role": "user", "content": "Something else entirely."}]
    fresh.tail_states(other, TAILS[:3], layer)
    among = np.asarray(fresh.tail_states(MESSAGES, TAILS[::-1][:8] + TAILS[2:3], layer))
    assert np.array_equal(among[-1], alone[0])
    assert fresh.cached_tokens(sources) == held > 50  # the main cache was not touched
    deeper = np.asarray(fresh.tail_states(MESSAGES, TAILS[2:3], layer + 5))
    assert not np.allclose(deeper, alone)  # another layer is another tensor, not a stale copy
    with pytest.raises(Exception, match="no layer"):
        fresh.tail_states(MESSAGES, TAILS[:1], 99)


def test_a_layer_probe_reads_hidden_states_and_its_sides_swap_with_the_motion(tiny: LlamaGenerator, tmp_path: Path,
                                                                              monkeypatch) -> None:  # type: ignore[no-untyped-def]
    """A probe file that names a layer is read through ``tail_states`` (the eighth session's candidate), end to end,
    from a file given as ``probe_file`` (as ``eval stance --methods paired:FILE`` does)."""
    import numpy as np

    from assistant.writing import prompts, stance_probe

    direction = np.random.default_rng(1).normal(size=576) * 0.05  # a side from D alone, no topic term
    weights = np.zeros((3, 2 * 576))
    weights[0, :576], weights[1, :576] = direction, -direction
    path = tmp_path / "probe.npz"
    np.savez(path, model=tiny.name, ids=np.zeros(0, dtype=np.int32), weights=weights, bias=np.zeros(3),
             threshold=0.5, layer=15)
    layers: list[int] = []
    real = tiny.tail_states
    monkeypatch.setattr(tiny, "tail_states", lambda m, t, layer, **k: layers.append(layer) or real(m, t, layer, **k))
    settings = Settings.load()
    render = lambda name, **v: prompts.render(settings.prompts_dir, name, **v)  # noqa: E731
    motion, opposite = "Remote work makes companies more productive", "Remote work makes companies less productive"
    ahead, need = stance_probe.score(tiny, render, motion, opposite, SENTENCES[:3], probe_file=path)
    back, _ = stance_probe.score(tiny, render, opposite, motion, SENTENCES[:3], probe_file=path)
    assert layers == [15] * 4  # both orientations of both calls, at the probe's layer
    assert need == 0.5 and len(ahead) == 3 and any(abs(a.support - a.oppose) > 1e-3 for a in ahead)
    for a, b in zip(ahead, back, strict=True):
        assert abs(a.support - b.oppose) < 1e-5 and abs(a.neutral - b.neutral) < 1e-5


def test_a_closed_generator_frees_its_model_and_loads_it_again_on_next_use(tiny: LlamaGenerator) -> None:
    """``close`` frees the model, the label batch and the probe's context, and the next call loads again.

    It runs for every generator still alive at exit: left to llama_cpp's own ``__del__`` at interpreter
    shutdown, freeing printed a TypeError traceback at the end of every full test run.
    """
    import numpy as np

    gen = LlamaGenerator(tiny.path, name=tiny.name, n_ctx=2048, threads=2)
    before = gen.label_logprobs(MESSAGES, TAILS[:3], LABELS)
    states = np.asarray(gen.tail_states(MESSAGES, TAILS[:1], 15))
    text = gen.generate(MESSAGES, max_tokens=6, temperature=0.0).text
    gen.close()
    assert gen._llm is None and gen._hidden is None and gen._label_batch is None
    assert not any(s.tokens for s in gen._stash.slots)
    after = gen.label_logprobs(MESSAGES, TAILS[:3], LABELS)
    assert all(abs(a[k] - b[k]) <= NOISE for a, b in zip(after, before, strict=True) for k in LABELS)
    assert np.array_equal(np.asarray(gen.tail_states(MESSAGES, TAILS[:1], 15)), states)
    assert gen.generate(MESSAGES, max_tokens=6, temperature=0.0).text == text
    gen.close()
    gen.close()  # twice is harmless
