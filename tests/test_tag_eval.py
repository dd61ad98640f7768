"""Tag faithfulness on ArgKP (tag_eval.py): the scoring on a tiny ArgKP-format folder, and the real tag step."""

from __future__ import annotations

import csv
import io
import json
from pathlib import Path
from typing import Any

import pytest

from assistant import Assistant, Settings
from assistant.evaluation import argkp, tag_eval
from assistant.evaluation.report import Report

CARS, WEEK = "We should ban cars", "We should adopt a four day week"
LONG = ("cars pollute the air in our cities with exhaust fumes and smog that make children and old people "
        "cough and fall ill")
ARGUMENTS = [("arg_0_0", LONG, CARS, 1), ("arg_0_1", "driving gives families the freedom to go where they want",
                                            CARS, -1),
             ("arg_0_2", "cars are loud", CARS, 1), ("arg_0_3", "nobody needs a car in a city", CARS, 1),
             ("arg_1_0", "people would be better rested and happier with three days off", WEEK, 1)]
KEY_POINTS = [("kp_0_0", "Cars pollute the air", CARS, 1), ("kp_0_1", "Cars cause deadly accidents", CARS, 1),
              ("kp_0_2", "Cars give people freedom to travel", CARS, -1),
              ("kp_1_0", "Workers get more rest", WEEK, 1), ("kp_1_1", "Productivity falls with less time", WEEK, -1)]
# arg_0_2 matches nothing (all 0) and arg_0_3 has no decided pair: neither is sampled.
LABELS = [("arg_0_0", "kp_0_0", 1), ("arg_0_0", "kp_0_1", 0), ("arg_0_1", "kp_0_2", 1), ("arg_0_2", "kp_0_0", 0),
          ("arg_0_2", "kp_0_1", 0), ("arg_1_0", "kp_1_0", 1), ("arg_1_0", "kp_1_1", 0)]


def write_argkp(folder: Path, split: str = "dev") -> Path:
    files: dict[str, tuple[tuple[str, ...], list[tuple[Any, ...]]]] = {
        f"arguments_{split}.csv": (("arg_id", "argument", "topic", "stance"), ARGUMENTS),
        f"key_points_{split}.csv": (("key_point_id", "key_point", "topic", "stance"), KEY_POINTS),
        f"labels_{split}.csv": (("arg_id", "key_point_id", "label"), LABELS)}
    folder.mkdir(parents=True, exist_ok=True)
    for name, (header, rows) in files.items():
        with (folder / name).open("w", encoding="utf-8", newline="") as f:
            writer = csv.writer(f)
            writer.writerow(header)
            writer.writerows(rows)
    return folder


def test_hit_at_1_and_mrr_of_each_row(tmp_path: Path, real_assistant: Assistant) -> None:
    calls: list[tuple[str, str]] = []

    def tagger(text: str, topic: str) -> str:
        calls.append((text, topic))
        if text == LONG:
            return "Cars pollute the air"  # the gold key point itself: rank 1
        if topic == WEEK:
            return "Productivity falls with less time"  # the topic's other key point: gold at rank 2
        return ""  # a dropped tag: a miss

    out = tmp_path / "tags.json"
    stream = io.StringIO()
    result = tag_eval.evaluate(real_assistant, write_argkp(tmp_path / "argkp"), taggers={"fake": tagger},
                               report=Report(out, stream=stream))
    rows = result["json"]["rows"]
    assert sorted(calls) == sorted((a[1], a[2]) for a in ARGUMENTS if a[0] in ("arg_0_0", "arg_0_1", "arg_1_0"))
    assert rows["fake"] == {"texts": 3, "hit_at_1": 0.333, "mrr": 0.5, "mean_words": round(9 / 3, 1),
                            "dropped": 1, "seconds_per_tag": rows["fake"]["seconds_per_tag"]}
    assert rows["argument"]["texts"] == rows["first 15 words"]["texts"] == 3
    assert "dropped" not in rows["argument"]
    items = {i["arg_id"]: i for i in result["json"]["items"]}
    assert items["arg_0_0"]["tags"] == {"fake": "Cars pollute the air"} and LONG not in out.read_text()
    assert tag_eval.first_words(LONG) == " ".join(LONG.split()[:15]) != LONG
    assert items["arg_0_1"]["ranks"]["fake"] is None and items["arg_1_0"]["ranks"]["fake"] == 2
    by_topic = result["json"]["by_topic"]
    assert by_topic[CARS]["arguments"] == 2 and by_topic[WEEK]["fake"]["mrr"] == 0.5
    assert "| fake | 3 | 0.333 | 0.5 | 3.0 | 1 |" in result["table"] and "| argument | 3 |" in result["text"]
    saved = json.loads(out.read_text(encoding="utf-8"))
    assert saved["complete"] and saved["rows"] == rows
    assert "[tags 3/3," in stream.getvalue() and "hit@1 argument" in stream.getvalue()
    assert not (tmp_path / "index").exists()  # no index is built or opened


def test_sample_is_reproducible_and_only_matched_arguments() -> None:
    split = argkp.Split(
        {"t": [argkp.Argument(f"a{i}", f"text {i}", "t", 1) for i in range(20)]},
        {"t": [argkp.KeyPoint("k", "key", "t", 1)]},
        {(f"a{i}", "k"): int(i % 2 == 0) for i in range(20)})
    one = tag_eval.sample(split, 4, seed=3)["t"]
    assert one == tag_eval.sample(split, 4, seed=3)["t"] and len(one) == 4
    assert all(int(a.arg_id[1:]) % 2 == 0 for a in one)
    assert [a.arg_id for a in one] == sorted((a.arg_id for a in one), key=lambda x: int(x[1:]))  # file order
    assert len(tag_eval.sample(split, None)["t"]) == 10


class Recording:
    """The real generator, with what each call was shown kept for the test."""

    def __init__(self, inner: Any) -> None:
        self.inner, self.name, self.n_ctx = inner, inner.name, inner.n_ctx
        self.calls: list[tuple[list[dict[str, str]], dict[str, Any] | None]] = []

    def count_tokens(self, text: str) -> int:
        return int(self.inner.count_tokens(text))

    def generate(self, messages: list[dict[str, str]], **kw: Any) -> Any:
        self.calls.append((messages, kw.get("schema")))
        return self.inner.generate(messages, **kw)


@pytest.mark.integration
def test_the_product_tag_step_on_the_tiny_model(tmp_path: Path, real_embedder: Any) -> None:
    a = Assistant(Settings.load(index_dir=tmp_path / "index", model="test", threads=2), embedder=real_embedder)
    model = Recording(a.generator)
    tagger = tag_eval.StepTagger(model, a.settings.prompts_dir, real_embedder.embed)
    result = tag_eval.evaluate(a, write_argkp(tmp_path / "argkp"), per_topic=1, taggers={"tag step": tagger},
                               report=Report(stream=io.StringIO()))
    row = result["json"]["rows"]["tag step"]
    assert row["texts"] == 2 and row["seconds_per_tag"] > 0
    kept = [i["tags"]["tag step"] for i in result["json"]["items"] if i["tags"]["tag step"]]
    assert len(kept) + row["dropped"] == 2 and sum(tagger.gates.values()) >= row["dropped"]
    assert result["json"]["gates"]["tag step"] == tagger.gates
    first = model.calls[0]
    user = first[0][-1]["content"]
    argument = next(a[1] for a in ARGUMENTS if a[0] == result["json"]["items"][0]["arg_id"])
    assert f"S1 {argument.split('. ')[0]}" in user  # the argument is the request's only passage, numbered
    assert result["json"]["items"][0]["topic"] not in user  # the tag step does not see the motion
    assert json.dumps(first[1]).count('"S1"') >= 1  # evidence limited to the argument's sentence ids
    assert not (tmp_path / "index").exists()
