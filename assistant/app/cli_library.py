"""CLI commands for the answer library and document provenance: meta, history, show, forget, sides.

Kept apart from ``cli.py`` so that module stays readable; each command
parses, calls one ``Assistant`` method, prints. Not handled: editing a saved
answer (re-run the request instead).
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Callable, Sequence
from typing import TYPE_CHECKING, Any

from .cli_shared import check_out, open_assistant

if TYPE_CHECKING:
    from ..types import DocumentInfo

META_FIELDS = ("title", "author", "date", "publication", "url", "qualifications")


def add_commands(sub: Any) -> None:
    """Register the library sub-commands on the main parser's subparsers."""
    s = sub.add_parser("meta", help="set a document's provenance (stored with it, not in the file)")
    s.add_argument("doc", metavar="DOC", help="id, id prefix, path, file name or title")
    for name in META_FIELDS:
        flags = ["--quals", "--qualifications"] if name == "qualifications" else [f"--{name}"]
        s.add_argument(*flags, dest=name, metavar="TEXT", help=f"set the {name} ('' clears it)")
    s.set_defaults(run=_meta)

    s = sub.add_parser("history", help="list saved answers, newest first")
    s.add_argument("--limit", type=int, default=50, metavar="N", help="how many (default 50)")
    s.add_argument("--json", action="store_true")
    s.set_defaults(run=_history)

    s = sub.add_parser("show", help="show a saved answer again, or export it with --out")
    s.add_argument("id", metavar="ID", help="a number from `assistant history`")
    s.add_argument("--out", metavar="FILE", help="write it to FILE: .md, .json, .docx or .pdf")
    s.add_argument("--json", action="store_true", help="print the whole structure as JSON")
    s.set_defaults(run=_show)

    s = sub.add_parser("forget", help="delete a saved answer")
    s.add_argument("id", metavar="ID")
    s.set_defaults(run=_forget)

    s = sub.add_parser("sides", help="set, list or clear the side of a card's sentence (the stance step can be wrong)")
    verbs = s.add_subparsers(dest="verb", metavar="set|list|export|clear", required=True)
    v = verbs.add_parser("set", help="keep a sentence for / against / neither in every later answer to a request")
    v.add_argument("request", metavar="REQUEST", help="the motion, position or claim, as you asked it")
    v.add_argument("sentence", metavar="SENTENCE", help="the card's sentence, copied from the answer")
    v.add_argument("side", metavar="SIDE", help="for, against or neither")
    v.set_defaults(run=_sides_set)
    v = verbs.add_parser("list", help="the sides set, newest first")
    v.add_argument("request", metavar="REQUEST", nargs="?", help="only those towards this request")
    v.add_argument("--json", action="store_true", help="as JSON (labelled sentences, for evaluation)")
    v.set_defaults(run=_sides_list)
    v = verbs.add_parser("export", help="write the sides set as gold items for `assistant eval stance --gold FILE`")
    v.add_argument("out", metavar="FILE", help="a .jsonl file to write")
    v.set_defaults(run=_sides_export)
    v = verbs.add_parser("clear", help="let the model read the sentence's side again")
    v.add_argument("request", metavar="REQUEST")
    v.add_argument("sentence", metavar="SENTENCE")
    v.set_defaults(run=_sides_clear)


def provenance_text(docs: list[DocumentInfo]) -> str:
    """One line of provenance per document: what a card's cite will say."""
    lines = []
    for d in docs:
        known = [d.author, d.qualifications, d.date, d.publication, d.url]
        lines.append(f"{d.doc_id}  " + (" · ".join(x for x in known if x) or "(no author, date or source set)")
                     + f"  · added {d.added[:10]}")
    return "Provenance (set with `assistant meta DOC --author ... --date ...`):\n" + "\n".join(lines)


def _meta(args: argparse.Namespace) -> int:
    info = open_assistant(args).set_meta(args.doc, **{k: getattr(args, k) for k in META_FIELDS})
    print(provenance_text([info]).splitlines()[-1] + f"  ({info.title})")
    return 0


def _history(args: argparse.Namespace) -> int:
    entries = open_assistant(args).history().entries(args.limit)
    return _listing(entries, args.json, "No saved answers yet: ask, brief, steelman or rebut something first.",
                    lambda e: f"#{e.id:<5} {e.created}  {e.mode:<8} {e.verified:>2} quotes  {e.request[:70]}")


def _show(args: argparse.Namespace) -> int:
    from ..output.export import export
    from ..output.render import answer_dict, answer_markdown

    if args.out:
        check_out(args.out)
    a = open_assistant(args)
    saved = a.saved(args.id)
    if args.out:
        path = export(saved.answer, args.out, documents=a.saved_lookup(saved))
        print(f"wrote #{saved.entry.id} to {path}", file=sys.stderr)
        return 0
    if args.json:
        from .terminal import dumps

        print(dumps(answer_dict(saved.answer)))
    else:
        print(f"#{saved.entry.id}  saved {saved.entry.created}\n")
        print(answer_markdown(saved.answer))
    return 0


def _forget(args: argparse.Namespace) -> int:
    entry = open_assistant(args).history().forget(args.id)
    print(f"forgot #{entry.id}: {entry.mode} “{entry.request[:70]}”")
    return 0


def _sides_set(args: argparse.Namespace) -> int:
    row = open_assistant(args).set_side(args.request, args.sentence, args.side)
    print(f"✓ Set: {row.describe()}. Later answers to this request keep it.")
    return 0


def _sides_list(args: argparse.Namespace) -> int:
    rows = open_assistant(args).sides().entries(args.request)
    return _listing(rows, args.json, "No sides set yet: `assistant sides set REQUEST SENTENCE for|against|neither`.",
                    lambda r: f"{r.created}  {r.describe()}")


def _listing(rows: Sequence[Any], as_json: bool, empty: str, line: Callable[[Any], str]) -> int:
    """Records as JSON, or one line each, or ``empty`` when there are none."""
    from dataclasses import asdict

    if as_json:
        from .terminal import dumps

        print(dumps([asdict(r) for r in rows]))
    else:
        print("\n".join(line(r) for r in rows) if rows else empty)
    return 0


def _sides_export(args: argparse.Namespace) -> int:
    import json
    from pathlib import Path

    from ..output.sides import gold_items

    check_out(args.out, export=False)
    rows = open_assistant(args).sides().entries()
    items = gold_items(rows)
    if not items:
        print("No side FOR or AGAINST set yet; nothing written.")
        return 1
    Path(args.out).write_text("".join(json.dumps(i, ensure_ascii=False) + "\n" for i in items), encoding="utf-8")
    quotes = sum(r.side != "neutral" for r in rows)
    print(f"✓ Wrote {quotes} sentence(s) of {len(items)} request(s) to {args.out} "
          f"({sum(r.side == 'neutral' for r in rows)} set to neither left out); measure the stance step on them: "
          f"`assistant --model default eval stance --topics 0 --gold {args.out}`")
    return 0


def _sides_clear(args: argparse.Namespace) -> int:
    if not open_assistant(args).clear_side(args.request, args.sentence):
        print("No side was set for that sentence and request; nothing changed.")
        return 1
    print("✓ Cleared: the model reads that sentence's side again.")
    return 0
