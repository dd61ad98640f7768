"""The ``assistant`` command line: parse, call one library function, print.

Errors meant for the user (``AssistantError``) and argparse's own become one
line on stderr and a non-zero exit (2 for bad input); anything else is a bug
and keeps its traceback. Everything a command prints, on stdout and stderr,
passes through ``terminal.clean``: requests, titles and answers are shown as
text, never as terminal escape sequences.
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Callable, Sequence
from typing import TYPE_CHECKING, Any, NoReturn

from .. import offline
from ..errors import AssistantError
from ..writing.specs import SPECS
from .cli_eval import add_eval
from .cli_shared import check_out, open_assistant
from .terminal import CleanStream, dumps

offline.enforce()

if TYPE_CHECKING:
    pass


class _Parser(argparse.ArgumentParser):
    """argparse whose mistakes read like every other error: one line, exit 2 (sub-commands inherit it)."""

    def error(self, message: str) -> NoReturn:
        self.exit(2, f"error: {' '.join(message.split())} (see {self.prog} --help)\n")


def _parser() -> argparse.ArgumentParser:
    p = _Parser(
        prog="assistant",
        description="Local, offline debate assistant: cited answers, briefs, steelmen and rebuttals "
                    "from your own essays.",
    )
    p.add_argument("--index", metavar="DIR", help="index folder (env ASSISTANT_INDEX; default ./index)")
    p.add_argument("--embedder", metavar="NAME|DIR", help="embedder (env ASSISTANT_EMBEDDER)")
    p.add_argument("--model", metavar="NAME|PATH", help="model: role, models.txt name or .gguf path "
                   "(env ASSISTANT_MODEL; default: default)")
    p.add_argument("--chroma-url", metavar="URL", help="a Chroma server for the vectors, e.g. http://127.0.0.1:8000 "
                   "(env ASSISTANT_CHROMA_URL; default: embedded)")
    p.add_argument("--llm-url", metavar="URL", help="an OpenAI-compatible model server, e.g. http://127.0.0.1:8080/v1 "
                   "(env ASSISTANT_LLM_URL; default: in-process llama.cpp)")
    sub = p.add_subparsers(dest="command", metavar="COMMAND", required=True)

    s = sub.add_parser("ingest", help="add files or folders (.txt .md .pdf .html) to the index")
    s.add_argument("paths", nargs="+", metavar="PATH")
    s.add_argument("--json", action="store_true", help="print the report as JSON")
    s.set_defaults(run=_ingest)

    s = sub.add_parser("sync", help="make the index match a folder (default: the shipped seeds/)")
    s.add_argument("folder", nargs="?", metavar="DIR")
    s.set_defaults(run=_sync)

    s = sub.add_parser("check", help="compare the index's documents with its vectors (--repair fixes them)")
    s.add_argument("--repair", action="store_true", help="re-embed missing chunks and delete orphan vectors")
    s.set_defaults(run=_check)

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
    _scope_arg(s)
    s.set_defaults(run=_search)

    for spec in SPECS.values():
        mode = spec.name
        s = sub.add_parser(mode, help=spec.help)
        s.add_argument("text", nargs="+", metavar=spec.request.upper())
        s.add_argument("--k", type=int, metavar="N", help=f"{spec.k_means} (default 6)")
        s.add_argument("--temperature", type=float, metavar="T", help="sampling temperature (default 0.2)")
        s.add_argument("--max-tokens", type=int, metavar="N", help="answer length cap in tokens")
        s.add_argument("--out", metavar="FILE", help="also write the answer to FILE: .md, .json, .docx (Verbatim "
                       "cards) or .pdf, chosen by the suffix")
        s.add_argument("--json", action="store_true", help="print the whole structure as JSON")
        s.add_argument("--no-history", action="store_true", help="do not save this answer in the history")
        _scope_arg(s)
        s.set_defaults(run=_write, mode=mode)

    from .cli_library import add_commands

    add_commands(sub)

    s = sub.add_parser("serve", help="the chat page in your browser (loopback only by default)")
    s.add_argument("--host", default="127.0.0.1", help="address to bind (default 127.0.0.1)")
    s.add_argument("--port", type=int, default=7860, help="port (default 7860)")
    s.set_defaults(run=_serve)

    s = sub.add_parser("passwd", help="print a users-file line (name:hash) for sign-in; see docs/deploy.md")
    s.add_argument("user", metavar="USER")
    s.set_defaults(run=_passwd)

    add_eval(sub)

    s = sub.add_parser("models", help="list models with installed / verified state")
    s.add_argument("action", nargs="?", choices=["list", "verify", "packages", "embedder"], default="list",
                   help="list (default); verify: assemble and check sha256; packages: pip names; "
                        "embedder: export the embedder to ONNX (fp32, int8) once")
    s.add_argument("names", nargs="*", metavar="NAME", help="models or roles (default: all bundled)")
    s.set_defaults(run=_models)
    return p


def main(argv: Sequence[str] | None = None) -> int:
    """Run one command; everything it prints passes through ``terminal.clean`` (text, never escapes)."""
    out, err = sys.stdout, sys.stderr
    sys.stdout, sys.stderr = CleanStream(out), CleanStream(err)
    try:
        code = _main(argv)
        sys.stdout.flush()
        return code
    except BrokenPipeError:  # `assistant search ... | head`: the reader left; nothing more to say
        import os

        os.dup2(os.open(os.devnull, os.O_WRONLY), out.fileno())  # so the interpreter's final flush is quiet
        return 0
    finally:
        sys.stdout, sys.stderr = out, err


def _main(argv: Sequence[str] | None) -> int:
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


def _emit(data: Any) -> None:
    print(dumps(data))


def _ingest(args: argparse.Namespace) -> int:
    from ..output.render import ingest_dict, ingest_text

    report = open_assistant(args).ingest(args.paths)
    _emit(ingest_dict(report)) if args.json else print(ingest_text(report))
    return 0


def _sync(args: argparse.Namespace) -> int:
    from ..output.render import ingest_text

    print(ingest_text(open_assistant(args).sync(args.folder)))
    return 0


def _check(args: argparse.Namespace) -> int:
    from ..errors import StoreError

    found = open_assistant(args).check(repair=args.repair)
    if not found.ok and not args.repair:
        raise StoreError(f"index damaged: {found.summary()}; run `assistant check --repair`")
    print(f"{'repaired' if not found.ok else 'index OK'}: {found.summary()}")
    return 0


def _docs(args: argparse.Namespace) -> int:
    from dataclasses import asdict

    from ..output.render import documents_text

    docs = open_assistant(args).documents()
    _emit([asdict(d) for d in docs]) if args.json else print(documents_text(docs))
    if not args.json and docs:
        from .cli_library import provenance_text

        print("\n" + provenance_text(docs))
    return 0


def _remove(args: argparse.Namespace) -> int:
    info = open_assistant(args).remove(args.doc)
    print(f"removed {info.doc_id} ({info.chunks} chunks): {info.title}")
    return 0


def _search(args: argparse.Namespace) -> int:
    from ..output.render import passage_dict, passages_text

    query = " ".join(args.query)
    passages = open_assistant(args, retrieval=args.retrieval, k=args.k).search(query, docs=args.doc)
    if args.json:
        _emit({"query": query, "passages": [passage_dict(p) for p in passages]})
    else:
        print(passages_text(passages))
    return 0


def _write(args: argparse.Namespace) -> int:
    from ..output.render import answer_dict, answer_markdown
    from .progress import TerminalProgress

    if args.out:  # before the model runs: a bad path or format must not throw an answer away
        check_out(args.out)
    a = open_assistant(args, k=args.k, temperature=args.temperature, max_tokens=args.max_tokens,
                       save_history=False if args.no_history else None)
    with TerminalProgress(sys.stderr) as progress:
        answer = a.run(args.mode, " ".join(args.text), on_event=progress, docs=args.doc)
    if a.last_saved:
        print(f"saved as #{a.last_saved} (assistant show {a.last_saved} --out FILE)", file=sys.stderr)
    if args.out:
        a.export(answer, args.out)
    _emit(answer_dict(answer)) if args.json else print(answer_markdown(answer))
    return 0


def _scope_arg(s: argparse.ArgumentParser) -> None:
    s.add_argument("--doc", action="append", metavar="ID|NAME",
                   help="only use this document (id, id prefix, file name or title); repeatable")


def _serve(args: argparse.Namespace) -> int:
    from .. import backends
    from . import auth
    from .ui import serve

    a = open_assistant(args)
    auth.for_host(args.host, a.settings)  # exposed without sign-in: refuse before anything starts
    a.store()  # fail now, with a clear message, if there is no index
    print(f"Serving on http://{args.host}:{args.port}  ({backends.describe(a.settings)}; the model loads in the "
          "background; Ctrl-C to stop)", flush=True)
    serve(a, host=args.host, port=args.port)
    return 0


def _passwd(args: argparse.Namespace) -> int:
    import getpass

    from .auth import hash_line

    if sys.stdin.isatty():
        password = getpass.getpass(f"password for {args.user}: ")
        if getpass.getpass("again: ") != password:
            raise AssistantError("the two passwords differ; nothing printed")
    else:  # scripted: the first line of stdin
        password = sys.stdin.readline().rstrip("\r\n")
    print(hash_line(args.user, password))
    return 0


def _models(args: argparse.Namespace) -> int:
    from ..config import Settings
    from ..llm import models

    settings = Settings.load(model=args.model)
    if args.action == "embedder":
        return _export_embedder(settings.embedder if args.embedder is None else args.embedder, settings.cache_dir)
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


def _export_embedder(name: str, cache_dir: Any) -> int:
    from ..index.embed import PACKAGED, packaged_model_dir
    from ..index.onnx_export import ensure_exported

    if name not in PACKAGED:
        raise AssistantError(f"only packaged embedders can be exported to ONNX ({', '.join(PACKAGED)}), not {name}")
    folder = ensure_exported(name, packaged_model_dir(name), cache_dir, dist=PACKAGED[name][0])
    print(f"exported  {name}  {folder}")
    return 0


def _byte_bar(total: int | None, name: str) -> Callable[[int], None]:
    from tqdm import tqdm

    bar = tqdm(total=total, unit="B", unit_scale=True, desc=name, file=sys.stderr, delay=1.0,
               disable=not sys.stderr.isatty(), leave=False)
    return bar.update
