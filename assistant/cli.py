"""The ``assistant`` command line: parse, call one library function, print.

Errors meant for the user (``AssistantError``) become one line on stderr and
a non-zero exit; anything else is a bug and keeps its traceback.
"""

from __future__ import annotations

import argparse
import json
import sys
from collections.abc import Callable, Sequence
from typing import TYPE_CHECKING, Any

from . import offline
from .errors import AssistantError

offline.enforce()

if TYPE_CHECKING:
    from .api import Assistant


def _parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(
        prog="assistant",
        description="Local, offline debate assistant: cited answers, briefs, steelmen and rebuttals "
                    "from your own essays.",
    )
    p.add_argument("--index", metavar="DIR", help="index folder (env ASSISTANT_INDEX; default ./index)")
    p.add_argument("--embedder", metavar="NAME|DIR", help="embedder (env ASSISTANT_EMBEDDER)")
    p.add_argument("--model", metavar="NAME|PATH", help="model: role, models.txt name or .gguf path "
                   "(env ASSISTANT_MODEL; default: default)")
    sub = p.add_subparsers(dest="command", metavar="COMMAND", required=True)

    s = sub.add_parser("ingest", help="add files or folders (.txt .md .pdf .html) to the index")
    s.add_argument("paths", nargs="+", metavar="PATH")
    s.add_argument("--json", action="store_true", help="print the report as JSON")
    s.set_defaults(run=_ingest)

    s = sub.add_parser("sync", help="make the index match a folder (default: the shipped seeds/)")
    s.add_argument("folder", nargs="?", metavar="DIR")
    s.set_defaults(run=_sync)

    s = sub.add_parser("docs", help="list indexed documents with chunk counts")
    s.add_argument("--json", action="store_true")
    s.set_defaults(run=_docs)

    s = sub.add_parser("remove", help="remove a document (id, id prefix, path, file name or title)")
    s.add_argument("doc", metavar="DOC")
    s.set_defaults(run=_remove)

    s = sub.add_parser("search", help="ranked passages for a query, with provenance")
    s.add_argument("query", nargs="+", metavar="QUERY")
    s.add_argument("--k", type=int, metavar="N", help="number of passages (default 6)")
    s.add_argument("--retrieval", choices=["hybrid", "dense", "lexical"], help="retrieval variant")
    s.add_argument("--json", action="store_true", help="machine-readable output")
    s.set_defaults(run=_search)

    for mode, what, helptext in (
        ("ask", "QUESTION", "answer a question from the corpus, with verified citations"),
        ("brief", "MOTION", "balanced debate brief: FOR and AGAINST with verified evidence"),
        ("steelman", "POSITION", "the strongest charitable version of a position"),
        ("rebut", "CLAIM", "assumptions, weak points, counter-evidence and a rebuttal speech"),
    ):
        s = sub.add_parser(mode, help=helptext)
        s.add_argument("text", nargs="+", metavar=what)
        s.add_argument("--k", type=int, metavar="N", help="passages to give the model (default 6)")
        s.add_argument("--temperature", type=float, metavar="T", help="sampling temperature (default 0.2)")
        s.add_argument("--max-tokens", type=int, metavar="N", help="answer length cap in tokens")
        s.add_argument("--out", metavar="FILE.md", help="also write the Markdown to this file")
        s.add_argument("--json", action="store_true", help="print the whole structure as JSON")
        s.set_defaults(run=_write, mode=mode)

    s = sub.add_parser("serve", help="the chat page in your browser (loopback only by default)")
    s.add_argument("--host", default="127.0.0.1", help="address to bind (default 127.0.0.1)")
    s.add_argument("--port", type=int, default=7860, help="port (default 7860)")
    s.set_defaults(run=_serve)

    s = sub.add_parser("eval", help="measure retrieval, generation, or ArguAna counter-retrieval and stance")
    s.add_argument("what", nargs="?", choices=["retrieval", "generation", "arguana"], default="retrieval",
                   help="retrieval (default): seeds gold set per variant; generation: every mode on the "
                        "gold set with the model; arguana PATH: real debates")
    s.add_argument("path", nargs="?", metavar="PATH", help="for arguana: a JSONL file in the ArguAna format")
    s.add_argument("--gold", metavar="FILE", help="gold JSONL (default eval/gold_seeds.jsonl)")
    s.add_argument("--k", type=int, default=5, metavar="N", help="k for recall@k (default 5)")
    s.add_argument("--limit", type=int, metavar="N", help="generation: items; arguana: points (default all)")
    s.add_argument("--stance", type=int, default=3, metavar="N",
                   help="arguana: debates to write briefs for, for stance balance (default 3; 0 skips)")
    s.add_argument("--json", action="store_true")
    s.set_defaults(run=_eval)

    s = sub.add_parser("models", help="list models with installed / verified state")
    s.add_argument("action", nargs="?", choices=["list", "verify", "packages"], default="list",
                   help="list (default); verify: assemble and check sha256; packages: pip names")
    s.add_argument("names", nargs="*", metavar="NAME", help="models or roles (default: all bundled)")
    s.set_defaults(run=_models)
    return p


def main(argv: Sequence[str] | None = None) -> int:
    args = _parser().parse_args(argv)
    run: Callable[[argparse.Namespace], int] = args.run
    try:
        return run(args)
    except AssistantError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return exc.exit_code
    except KeyboardInterrupt:
        print("interrupted", file=sys.stderr)
        return 130


def _assistant(args: argparse.Namespace, **extra: Any) -> Assistant:
    from .api import Assistant

    return Assistant(index_dir=args.index, embedder=args.embedder, model=args.model, **extra)


def _emit(data: Any) -> None:
    print(json.dumps(data, ensure_ascii=False, indent=2))


def _ingest(args: argparse.Namespace) -> int:
    from .render import ingest_dict, ingest_text

    report = _assistant(args).ingest(args.paths)
    _emit(ingest_dict(report)) if args.json else print(ingest_text(report))
    return 0


def _sync(args: argparse.Namespace) -> int:
    from .render import ingest_text

    print(ingest_text(_assistant(args).sync(args.folder)))
    return 0


def _docs(args: argparse.Namespace) -> int:
    from dataclasses import asdict

    from .render import documents_text

    docs = _assistant(args).documents()
    _emit([asdict(d) for d in docs]) if args.json else print(documents_text(docs))
    return 0


def _remove(args: argparse.Namespace) -> int:
    info = _assistant(args).remove(args.doc)
    print(f"removed {info.doc_id} ({info.chunks} chunks): {info.title}")
    return 0


def _search(args: argparse.Namespace) -> int:
    from .render import passage_dict, passages_text

    query = " ".join(args.query)
    passages = _assistant(args, retrieval=args.retrieval, k=args.k).search(query)
    if args.json:
        _emit({"query": query, "passages": [passage_dict(p) for p in passages]})
    else:
        print(passages_text(passages))
    return 0


def _write(args: argparse.Namespace) -> int:
    from pathlib import Path

    from .render import answer_dict, answer_markdown

    a = _assistant(args, k=args.k, temperature=args.temperature, max_tokens=args.max_tokens)
    progress = _token_progress()
    answer = a.run(args.mode, " ".join(args.text), on_token=progress)
    progress("")
    markdown = answer_markdown(answer)
    if args.out:
        try:
            Path(args.out).write_text(markdown, encoding="utf-8")
        except OSError as exc:
            raise AssistantError(f"cannot write {args.out}: {exc.strerror}") from None
    _emit(answer_dict(answer)) if args.json else print(markdown)
    return 0


def _token_progress() -> Callable[[str], None]:
    """A live token counter on stderr while the model writes (the answer prints when verified)."""
    count = 0

    def update(piece: str) -> None:
        nonlocal count
        if not sys.stderr.isatty():
            return
        if piece:
            count += 1
            if count % 5 == 1:
                print(f"\rwriting... {count} tokens", end="", file=sys.stderr, flush=True)
        elif count:
            print("\r" + " " * 30 + "\r", end="", file=sys.stderr, flush=True)

    return update


def _serve(args: argparse.Namespace) -> int:
    from .ui import serve

    a = _assistant(args)
    a.store()  # fail now, with a clear message, if there is no index
    print(f"Serving on http://{args.host}:{args.port}  (Ctrl-C to stop; the model loads in the background)",
          flush=True)
    serve(a, host=args.host, port=args.port)
    return 0


def _eval(args: argparse.Namespace) -> int:
    import tempfile
    from pathlib import Path

    from . import evaluate
    from .api import Assistant

    if args.what == "arguana" and not args.path:
        raise AssistantError("eval arguana needs the path of a JSONL file in the ArguAna format")
    with tempfile.TemporaryDirectory(prefix="assistant-eval-") as tmp:
        # A private index: scores never depend on (or touch) what the user has added.
        a = Assistant(index_dir=Path(tmp) / "index", embedder=args.embedder, model=args.model)
        try:
            if args.what == "arguana":
                from .arguana import run_eval

                result = run_eval(a, Path(args.path), limit=args.limit, stance=args.stance)
            else:
                log = (lambda m: print(m, file=sys.stderr, flush=True)) if sys.stderr.isatty() else None
                gold = Path(args.gold) if args.gold else None
                result = evaluate.run_eval(a, args.what, gold, k=args.k, limit=args.limit, progress=log)
        finally:
            a.close()
    _emit(result["json"]) if args.json else print(result["text"])
    return 0


def _models(args: argparse.Namespace) -> int:
    from . import models
    from .config import Settings

    settings = Settings.load(model=args.model)
    registry = models.load_registry(settings.models_file)
    chosen = [e for e in registry if not args.names or e.name in args.names or e.role in args.names]
    if args.names and not chosen:
        raise AssistantError(f"no model named {', '.join(args.names)} in {settings.models_file}")
    if args.action == "packages":
        print("\n".join(p for e in chosen if e.bundled for p in e.packages))
        return 0
    if args.action == "verify":
        for entry in (e for e in chosen if e.bundled):
            path = models.ensure(entry, settings.models_dir, _byte_bar(entry.size, entry.name))
            print(f"verified  {entry.name}  {path}")
        return 0
    for entry in chosen:
        st = models.status(entry, settings.models_dir)
        size = f"{entry.size / 1e6:,.0f} MB" if entry.size else "-"
        print(f"{entry.name:40} {entry.role:12} {size:>9}  {entry.license:28} {st.state}")
    return 0


def _byte_bar(total: int | None, name: str) -> Callable[[int], None]:
    from tqdm import tqdm

    bar = tqdm(total=total, unit="B", unit_scale=True, desc=name, file=sys.stderr, delay=1.0,
               disable=not sys.stderr.isatty(), leave=False)
    return bar.update
