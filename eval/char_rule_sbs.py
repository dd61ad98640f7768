"""Side by side: llama-cpp-python's JSON-string char rule (old) vs ``sampler.CHAR_RULE`` (new).

The staged path on the same seeds gold items, once per rule, with the default
model; also counts the schema-constrained generations whose JSON held a raw
control character inside a string (what the new rule forbids) or did not parse.

    .venv/bin/python eval/char_rule_sbs.py LIMIT   (after `assistant sync`)
"""

from __future__ import annotations

import json
import sys
import time
from typing import Any

import assistant.llm.sampler as sampler
from assistant import Assistant, Settings
from assistant.evaluation.evaluate import evaluate_generation, generation_table, load_gold

OLD = r'char ::= [^"\\] | "\\" (["\\/bfnrt] | "u" [0-9a-fA-F] [0-9a-fA-F] [0-9a-fA-F] [0-9a-fA-F])'


class Counting:
    """The real generator, classifying every schema-constrained output's JSON."""

    def __init__(self, inner: Any) -> None:
        self.inner, self.stats = inner, {}

    def __getattr__(self, name: str) -> Any:
        return getattr(self.inner, name)

    def generate(self, messages: Any, **kw: Any) -> Any:
        out = self.inner.generate(messages, **kw)
        if kw.get("schema") is not None:
            self.stats["json_generations"] += 1
            try:
                json.loads(out.text)
            except ValueError:
                try:
                    json.loads(out.text, strict=False)
                    self.stats["control_char_in_string"] += 1
                except ValueError:
                    self.stats["unparsable"] += 1
        return out


def main() -> int:
    limit = int(sys.argv[1])
    a = Assistant(Settings.load())
    gold = load_gold(a.settings.home / "eval" / "gold_seeds.jsonl", a)
    counting = Counting(a.generator)
    a._generator = counting
    results = {}
    for name, rule in (("old", OLD), ("new", sampler.CHAR_RULE)):
        counting.stats = {"json_generations": 0, "control_char_in_string": 0, "unparsable": 0}
        sampler.CHAR_RULE = rule
        started = time.perf_counter()
        rows = evaluate_generation(a, gold, limit=limit)
        results[name] = {"seconds": round(time.perf_counter() - started, 1), **counting.stats,
                         "modes": [r.summary() for r in rows]}
        print(name, json.dumps(counting.stats), generation_table(rows), sep="\n", flush=True)
    print(json.dumps(results, indent=1))
    return 0


if __name__ == "__main__":
    sys.exit(main())
