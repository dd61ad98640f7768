"""Behaviour pinned: ``--json`` of ask, brief, steelman, rebut and overview on the seeds, test model, temperature 0.

The four outputs were captured before the package was cut into layers (issue 21); a
refactor that changes a passage, a claim, a gate count or a prompt's token count fails
here. Volatile fields are dropped first: wall-clock timings, token rates and the absolute
path of each source (it names the checkout). Scores are rounded to 4 places, so that a
float summed in another order does not count as a change in behaviour.

To re-capture after a change that is *meant* to alter the output, run with
``ASSISTANT_GOLDEN_UPDATE=1`` and review the diff of tests/golden/ like code.

Not handled: the default (1.5B) model; the page and the exports (their own tests cover them).
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

from tests.conftest import REPO

pytestmark = pytest.mark.integration

GOLDEN = Path(__file__).resolve().parent / "golden"
# The README's four example requests, and the overview of issue 22's motion.
REQUESTS = {
    "ask": "What reasons does the essay give for the UK's productivity gap?",
    "brief": "Remote work makes companies more productive in the age of AI",
    "steelman": "Companies should bring staff back to the office",
    "rebut": "Working from home is not proper work",
    "overview": "Remote work makes companies more productive",
}
# Timings that depend on the machine; the token counts beside them are kept (they pin the prompts).
VOLATILE_TIMINGS = {"retrieval_ms", "ttft_ms", "tokens_per_s", "total_ms"}


def normalize(value: Any, key: str = "") -> Any:
    """Drop what depends on the clock or the checkout; round floats.

    >>> normalize({"timings": {"total_ms": 5.0, "prompt_tokens": 9}, "source": "/x/a.md", "score": 0.123456})
    {'timings': {'prompt_tokens': 9}, 'source': 'a.md', 'score': 0.1235}
    """
    if isinstance(value, dict):
        out = {k: normalize(v, k) for k, v in value.items() if k not in VOLATILE_TIMINGS}
        return out
    if isinstance(value, list):
        return [normalize(v) for v in value]
    if isinstance(value, float):
        return round(value, 4)
    if key == "source" and isinstance(value, str):
        return Path(value).name
    return value


def _cli(*args: str, index: Path) -> str:
    env = {**os.environ, "ASSISTANT_INDEX": str(index)}
    proc = subprocess.run([sys.executable, "-m", "assistant", *args], capture_output=True, text=True,
                          env=env, cwd=REPO, timeout=600)
    assert proc.returncode == 0, proc.stderr
    return proc.stdout


@pytest.mark.parametrize("mode", list(REQUESTS))
def test_json_output_unchanged(mode: str, seeded_index: Path, tmp_path: Path) -> None:
    index = tmp_path / "index"
    shutil.copytree(seeded_index, index)  # the session's index stays as it was built
    got = normalize(json.loads(_cli("--model", "test", mode, REQUESTS[mode], "--temperature", "0",
                                    "--json", "--no-history", index=index)))
    path = GOLDEN / f"{mode}.json"
    if os.environ.get("ASSISTANT_GOLDEN_UPDATE") == "1":
        path.parent.mkdir(exist_ok=True)
        path.write_text(json.dumps(got, indent=2, ensure_ascii=False) + "\n", encoding="utf-8")
    want = json.loads(path.read_text(encoding="utf-8"))
    assert got == want
