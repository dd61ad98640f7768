"""Old beside new on the same gold items, in one run: an earlier revision of the code vs the working tree.

    .venv/bin/python eval/compare.py --old REV [--items g01,g26] [--model default] --out eval/results/x.json

The old revision is exported (``git archive``) into a temporary folder; each side gets its own private
index of the seeds and runs every gold item (``eval/gold_seeds.jsonl``; claims in both rebut and
steelman) through its own CLI (``assistant --json MODE TEXT``), the two sides alternating item by item so
that machine load falls on both alike. Both answers are scored by the *current* scorer
(``assistant.evaluation.evaluate``), so a metric added since the old revision is measured on both. Partial results
are written after every item.

``--new REV`` runs a revision as the new side instead of the working tree (edits made during a long
run then do not leak into it). ``--sides old`` (or ``new``) runs one side only, e.g. the old side while
something else needs the other core; ``--combine A.json B.json`` then scores the saved answers of both
runs together with the current scorer (seconds from separate runs are not comparable: time speed with benchmarks/).
``--modes rebut`` runs only those modes of each item (a claim is otherwise run as rebut and steelman).
Not handled: revisions whose CLI or ``--json`` shape differ from today's
(before 2026-11).
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tarfile
import tempfile
import time
from itertools import zip_longest
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from assistant import Assistant  # noqa: E402
from assistant.evaluation.evaluate import MODES_OF, GenerationScores, generation_table, load_gold, score  # noqa: E402
from assistant.evaluation.report import Report  # noqa: E402
from assistant.output.history import answer_from_dict  # noqa: E402


def export(rev: str, into: Path) -> Path:
    """The tree of ``rev`` (code, prompts, models.txt, seeds), unpacked under ``into``."""
    into.mkdir(parents=True, exist_ok=True)
    archive = into / "tree.tar"
    subprocess.run(["git", "-C", str(ROOT), "archive", "-o", str(archive), rev], check=True)
    with tarfile.open(archive) as tar:
        tar.extractall(into / "tree", filter="data")
    return into / "tree"


def cli(tree: Path, index: Path, *args: str, timeout: int = 900) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "PYTHONPATH": str(tree), "ASSISTANT_HOME": str(tree), "ASSISTANT_INDEX": str(index),
           "HF_HUB_OFFLINE": "1"}
    return subprocess.run([sys.executable, "-m", "assistant", *args], cwd=tree, env=env, capture_output=True,
                          text=True, timeout=timeout)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--old", required=True, help="git revision of the old side")
    ap.add_argument("--items", help="comma-separated gold ids (default: every item)")
    ap.add_argument("--model", default="default")
    ap.add_argument("--out", type=Path)
    ap.add_argument("--new", default="", help="git revision of the new side (default: the working tree; give one "
                    "when the tree may change during a long run)")
    ap.add_argument("--sides", default="old,new", help="which sides to run (default old,new)")
    ap.add_argument("--modes", help="comma-separated modes to run (default: every mode of each item's kind)")
    ap.add_argument("--combine", nargs="+", type=Path, metavar="JSON", help="score saved runs together, run nothing")
    args = ap.parse_args()
    report = Report(args.out)
    if args.combine:
        return combine(args.combine, report)
    with tempfile.TemporaryDirectory(prefix="assistant-compare-") as tmp:
        chosen = args.sides.split(",")
        sides = {name: tree for name, tree in (("old", args.old), ("new", args.new)) if name in chosen}
        sides = {name: export(rev, Path(tmp) / name) if rev else ROOT for name, rev in sides.items()}
        indexes = {name: Path(tmp) / f"index-{name}" for name in ("old", "new")}
        for name, tree in {**sides, "new": ROOT}.items():  # the judge (scorer) reads the new side's index
            done = cli(tree, indexes[name], "sync", str(ROOT / "seeds"))
            if done.returncode:
                raise SystemExit(f"{name}: sync failed: {done.stderr.strip()}")
        judge = Assistant(index_dir=indexes["new"])
        gold = load_gold(ROOT / "eval" / "gold_seeds.jsonl", judge)
        if args.items:
            wanted = set(args.items.split(","))
            gold = [g for g in gold if g.item_id in wanted]
        gold = round_robin(gold)  # a run cut short still holds every kind
        scores: dict[tuple[str, str], GenerationScores] = {}
        report.data.update({"old": args.old, "model": args.model, "items": [g.item_id for g in gold]})
        runs: list[dict[str, Any]] = []
        for i, item in enumerate(gold, 1):
            for mode in MODES_OF[item.kind]:
                if args.modes and mode not in args.modes.split(","):
                    continue
                for name, tree in sides.items():
                    started = time.perf_counter()
                    done = cli(tree, indexes[name], "--model", args.model, mode, item.text, "--json",
                               "--no-history")
                    seconds = time.perf_counter() - started
                    if done.returncode:
                        runs.append({"item": item.item_id, "mode": mode, "side": name, "error": done.stderr[-300:]})
                        continue
                    answer = answer_from_dict(json.loads(done.stdout))
                    s = scores.setdefault((name, mode), GenerationScores(mode, name))
                    s.seconds += seconds
                    s.items += 1
                    score(judge, item, answer, s)
                    runs.append({"item": item.item_id, "mode": mode, "side": name, "seconds": round(seconds, 1),
                                 "answer": json.loads(done.stdout)})
            rows = sorted(scores.values(), key=lambda x: (x.mode, x.path))
            report.data["modes"] = [r.summary() for r in rows]
            report.data["runs"] = runs
            report.save()
            report.progress("compare", i, len(gold))
        judge.close()
    report.finish()
    print(generation_table(sorted(scores.values(), key=lambda x: (x.mode, x.path))))


def round_robin(gold: list[Any]) -> list[Any]:
    """Items taken in turn from each kind (question, motion, claim), each kind in file order."""
    kinds: dict[str, list[Any]] = {}
    for g in gold:
        kinds.setdefault(g.kind, []).append(g)
    return [g for row in zip_longest(*kinds.values()) for g in row if g is not None]


def combine(files: list[Path], report: Report) -> None:
    """Score the saved answers of earlier runs (``runs[].answer``) together, with the current scorer.

    Only (item, mode) pairs that every side answered count, so a side cut short is compared fairly.
    """
    runs = [r for f in files for r in json.loads(f.read_text()).get("runs", []) if "answer" in r]
    sides_of: dict[tuple[str, str], set[str]] = {}
    for r in runs:
        sides_of.setdefault((r["item"], r["mode"]), set()).add(r["side"])
    every = set().union(*sides_of.values()) if sides_of else set()
    runs = [r for r in runs if sides_of[(r["item"], r["mode"])] == every]
    with tempfile.TemporaryDirectory(prefix="assistant-compare-") as tmp:
        index = Path(tmp) / "index"
        cli(ROOT, index, "sync", str(ROOT / "seeds"))
        judge = Assistant(index_dir=index)
        gold = {g.item_id: g for g in load_gold(ROOT / "eval" / "gold_seeds.jsonl", judge)}
        scores: dict[tuple[str, str], GenerationScores] = {}
        for r in runs:
            s = scores.setdefault((r["side"], r["mode"]), GenerationScores(r["mode"], r["side"]))
            s.seconds += r["seconds"]
            s.items += 1
            score(judge, gold[r["item"]], answer_from_dict(r["answer"]), s)
        judge.close()
    rows = sorted(scores.values(), key=lambda x: (x.mode, x.path))
    report.data.update({"combined": [str(f) for f in files], "modes": [r.summary() for r in rows]})
    report.finish()
    print(generation_table(rows))


if __name__ == "__main__":
    main()
