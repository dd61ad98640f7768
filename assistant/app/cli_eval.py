"""The ``assistant eval`` command: its arguments, and one private index per run.

Kept apart from ``cli.py`` so that module stays readable; the measurements themselves are
``evaluation/``'s. Not handled: evaluating the user's own index (scores must not depend on it).
"""

from __future__ import annotations

import argparse
import sys
from typing import Any

from ..errors import InputError
from .cli_shared import check_out
from .terminal import dumps


def add_eval(sub: Any) -> None:
    """The ``eval`` sub-command, added to the CLI's sub-parsers."""
    s = sub.add_parser("eval", help="measure retrieval, generation, stance, tags, key points, or ArguAna "
                       "counter-retrieval")
    s.add_argument("what", nargs="?", choices=["retrieval", "generation", "arguana", "stance", "tags", "kpa"],
                   default="retrieval",
                   help="retrieval (default): seeds gold set per variant; generation: every mode on the "
                        "gold set with the model; arguana PATH: real debates; stance PATH: the stance step on "
                        "one-sided ArgKP requests; tags PATH: whether tags retrieve their ArgKP key point; kpa PATH: "
                        "the overview's key point matching and generation on ArgKP (embedder only)")
    s.add_argument("path", nargs="?", metavar="PATH", help="arguana: a JSONL file in the ArguAna format; "
                   "stance, tags, kpa: the ArgKP folder (e.g. ../shared/benchmarks/argkp)")
    s.add_argument("--split", choices=["train", "dev"], default="dev",
                   help="stance, tags, kpa: ArgKP split (default dev)")
    s.add_argument("--methods", metavar="LIST", help="stance: methods side by side (default: contrast,paired); "
                   "paired:FILE is paired with another fitted probe, paired:zero-shot with none")
    s.add_argument("--topics", type=int, metavar="N", help="stance, kpa: only the first N topics of the split "
                   "(0: none, for --arguana or --gold alone)")
    s.add_argument("--word", action="store_true", help="kpa: also word every generated key point with the "
                   "model and score the wordings beside the clauses (needs the model)")
    s.add_argument("--per-topic", type=int, metavar="N", help="tags: arguments per topic (default all)")
    s.add_argument("--arguana", metavar="FILE", help="stance: also the ArguAna stance-step figure on this file")
    s.add_argument("--negated", action="store_true",
                   help="stance: also read every request about the motion's opposite (gold sides exchange)")
    s.add_argument("--gold", metavar="FILE", help="gold JSONL (default eval/gold_seeds.jsonl); stance: also the "
                   "stance of this file's support and oppose quotes (essay sentences)")
    s.add_argument("--k", type=int, default=5, metavar="N", help="k for recall@k (default 5)")
    s.add_argument("--limit", type=int, metavar="N", help="generation: items; arguana: points (default all)")
    s.add_argument("--stance", type=int, default=40, metavar="N",
                   help="arguana: debates for the stance-step score (default 40; 0 skips)")
    s.add_argument("--briefs", type=int, default=10, metavar="N",
                   help="arguana: debates to write full briefs for (default 10; 0 skips)")
    s.add_argument("--call-debates", type=int, default=10, metavar="N",
                   help="arguana: debates for the slow one-call stance method (default 10)")
    s.add_argument("--out", metavar="FILE", help="write the JSON results here, updated as items finish")
    s.add_argument("--json", action="store_true")
    s.set_defaults(run=_eval)


def _eval(args: argparse.Namespace) -> int:
    import tempfile
    from pathlib import Path

    from ..api import Assistant
    from ..evaluation import evaluate
    from ..evaluation.report import Report

    alone = args.what == "stance" and args.topics == 0 and (args.gold or args.arguana)  # no ArgKP needed
    if args.what in ("arguana", "stance", "tags", "kpa") and not args.path and not alone:
        what = "a JSONL file in the ArguAna format" if args.what == "arguana" else "the ArgKP folder"
        raise InputError(f"eval {args.what} needs the path of {what}")
    if args.out:  # results are saved as items finish: a bad path must fail now, not after the first item
        check_out(args.out, export=False)
    report = Report(Path(args.out) if args.out else None)
    with tempfile.TemporaryDirectory(prefix="assistant-eval-") as tmp:
        # A private index: scores never depend on (or touch) what the user has added.
        a = Assistant(index_dir=Path(tmp) / "index", embedder=args.embedder, model=args.model,
                      chroma_url="", llm_url=args.llm_url)  # the private index stays embedded
        try:
            if args.what == "arguana":
                from ..evaluation.arguana import run_eval

                result = run_eval(a, Path(args.path), limit=args.limit, stance=args.stance, briefs=args.briefs,
                                  call_debates=args.call_debates, report=report)
            elif args.what == "stance":
                from ..evaluation.stance_mixes import run_eval as run_stance

                methods = tuple(m.strip() for m in (args.methods or "contrast,paired").split(",") if m.strip())
                folder = Path(args.path) if args.path else None
                result = run_stance(a, folder, split=args.split, methods=methods, topics=args.topics,
                                    arguana=Path(args.arguana) if args.arguana else None,
                                    debates=args.stance, report=report, negated=args.negated,
                                    gold=Path(args.gold) if args.gold else None)
            elif args.what == "tags":
                from ..evaluation.tag_eval import run_eval as run_tags

                result = run_tags(a, Path(args.path), split=args.split, per_topic=args.per_topic, report=report)
            elif args.what == "kpa":
                from ..evaluation.kpa_eval import run_eval as run_kpa

                result = run_kpa(a, Path(args.path), split=args.split, report=report, word=args.word,
                                 topics=args.topics)
            else:
                log = (lambda m: print(m, file=sys.stderr, flush=True)) if sys.stderr.isatty() else None
                gold = Path(args.gold) if args.gold else None
                result = evaluate.run_eval(a, args.what, gold, k=args.k, limit=args.limit, report=report,
                                           progress=log)
        except KeyboardInterrupt:
            if args.out:
                print(f"interrupted: partial results kept in {args.out}", file=sys.stderr)
            raise
        finally:
            a.close()
    print(dumps(result["json"])) if args.json else print(result["text"])
    return 0
