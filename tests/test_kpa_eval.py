"""``assistant eval kpa``: the command on a small folder in ArgKP's format, through the CLI as a subprocess.

The folder is made up here (ArgKP itself is never copied into the project); the test is about the
command: both matching methods and the baseline scored, generation tallied, a missing path refused,
and a results file that keeps ids and figures only, never a text of the data.
"""

from __future__ import annotations

import csv
import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from tests.conftest import REPO

pytestmark = pytest.mark.integration
TOPIC = "Cities should ban cars from their centres"
ARGS = {1: ["banning cars cuts air pollution in the centre", "fewer cars mean cleaner air for residents",
            "car bans reduce the exhaust fumes children breathe", "streets without cars are safer for walkers",
            "pedestrians are injured less often without cars"],
        -1: ["small shops lose customers when cars are banned", "retailers say a car ban drives shoppers away",
             "disabled people depend on cars to reach the centre", "elderly residents cannot walk far without cars",
             "shopkeepers reported fewer customers after the ban"]}
KPS = {1: ["Car bans clean the air", "Car-free streets are safer"],
       -1: ["Shops lose business", "Disabled people need cars"]}
GOLD = {1: [0, 0, 0, 1, 1], -1: [0, 0, 1, 1, 0]}  # each argument's key point (index into KPS)


def _folder(root: Path) -> Path:
    def table(name: str, header: list[str], rows: list[list[object]]) -> None:
        with (root / name).open("w", newline="", encoding="utf-8") as f:
            csv.writer(f).writerows([header, *rows])

    root.mkdir()
    args, kps, labels = [], [], []
    for stance in (1, -1):
        for j, text in enumerate(KPS[stance]):
            kps.append([f"kp_9_{stance}_{j}", text, TOPIC, stance])
        for i, text in enumerate(ARGS[stance]):
            arg = f"arg_9_{stance}_{i}"
            args.append([arg, text, TOPIC, stance])
            labels += [[arg, f"kp_9_{stance}_{j}", int(j == GOLD[stance][i])] for j in range(len(KPS[stance]))]
    table("arguments_dev.csv", ["arg_id", "argument", "topic", "stance"], args)
    table("key_points_dev.csv", ["key_point_id", "key_point", "topic", "stance"], kps)
    table("labels_dev.csv", ["arg_id", "key_point_id", "label"], labels)
    return root


def _cli(*args: str, tmp: Path, model: str = "") -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "ASSISTANT_INDEX": str(tmp / "index")}
    chosen = ["--model", model] if model else []
    return subprocess.run([sys.executable, "-m", "assistant", *chosen, "eval", *args], capture_output=True, text=True,
                          env=env, cwd=REPO, timeout=600)


def test_eval_kpa_scores_both_methods_and_keeps_no_text(tmp_path: Path) -> None:
    folder = _folder(tmp_path / "argkp")
    out = tmp_path / "kpa.json"
    proc = _cli("kpa", str(folder), "--split", "dev", "--out", str(out), "--json", tmp=tmp_path)
    assert proc.returncode == 0, proc.stderr
    data = json.loads(proc.stdout)
    assert data["complete"] and data["topics"] == ["9"] and "[kpa 2/2" in proc.stderr
    assert {"embedding cosine", "key point matching"} <= set(data["matching"])
    for row in data["matching"].values():
        assert all(0.0 <= row[k] <= 1.0 for k in ("strict", "relaxed", "strict_2021_06", "relaxed_2021_06"))
    assert data["matching"]["key point matching"]["strict_2021_06"] >= 0.5  # clear-cut data: mostly right
    assert data["generation"]["gold"] == 4 and data["generation"]["generated"] >= 1
    saved = out.read_text(encoding="utf-8")
    texts = [TOPIC, *(t for ts in ARGS.values() for t in ts), *(t for ts in KPS.values() for t in ts)]
    assert not [t for t in texts if t.lower() in saved.lower()]  # ids and figures only


def test_eval_kpa_needs_the_folder(tmp_path: Path) -> None:
    proc = _cli("kpa", tmp=tmp_path)
    assert proc.returncode == 2 and proc.stderr.startswith("error: eval kpa needs the path of the ArgKP folder")


def test_eval_kpa_word_scores_clause_draft_and_shown_text_with_the_tiny_model(tmp_path: Path) -> None:
    folder = _folder(tmp_path / "argkp")
    out = tmp_path / "kpa.json"
    proc = _cli("kpa", str(folder), "--word", "--out", str(out), "--json", tmp=tmp_path, model="test")
    assert proc.returncode == 0, proc.stderr
    w = json.loads(proc.stdout)["wording"]
    assert w["points"] == json.loads(proc.stdout)["generation"]["generated"] >= 1
    assert w["kept"] + sum(w["refused"].values()) == w["points"]  # every wording kept or refused, with why
    assert set(w["rows"]) == {"clause (before)", "model draft, unchecked", "shown (after)"}
    saved = out.read_text(encoding="utf-8")
    texts = [TOPIC, *(t for ts in ARGS.values() for t in ts), *(t for ts in KPS.values() for t in ts)]
    assert not [t for t in texts if t.lower() in saved.lower()] and '"draft"' not in saved  # no text, no drafts
