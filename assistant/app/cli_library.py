"""CLI commands for the answer library and document provenance: meta, history, show, forget.

Kept apart from ``cli.py`` so that module stays readable; each command
parses, calls one ``Assistant`` method, prints. Not handled: editing a saved
answer (re-run the request instead).
"""

from __future__ import annotations

import argparse
import sys
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
    from dataclasses import asdict

    entries = open_assistant(args).history().entries(args.limit)
    if args.json:
        from .terminal import dumps

        print(dumps([asdict(e) for e in entries]))
    elif not entries:
        print("No saved answers yet: ask, brief, steelman or rebut something first.")
    else:
        for e in entries:
            print(f"#{e.id:<5} {e.created}  {e.mode:<8} {e.verified:>2} quotes  {e.request[:70]}")
    return 0


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
