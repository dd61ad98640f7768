"""The Gradio page: chat with the corpus in four modes, sources beside the answer.

``build_app(assistant)`` takes the assistant in, so tests pass one with a fake
or tiny model. Requests queue against the single model (concurrency 1); each
browser session has its own conversation state. Offline: system fonts only,
no share link, analytics off (see ``offline.py``). The History tab, the
download format choice and the document scope picker live in
``ui_library.py``; which files the page accepts, in ``ui_uploads.py``.
Not handled: user accounts.
"""

from __future__ import annotations

import tempfile
import traceback
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from ..api import Assistant
from ..backends import concurrency
from ..errors import AssistantError
from ..events import Finished
from ..index.corpus import SUPPORTED
from ..output.render import answer_markdown, sources_html
from ..types import Answer
from ..writing.specs import SPECS
from .live import LiveView
from .session import Session
from .ui_library import FORMATS as LIBRARY_FORMATS
from .ui_library import doc_choices, export_last, history_rows, history_tab
from .ui_sides import refresh as refresh_cards
from .ui_sides import sides_panel
from .ui_uploads import REFUSED, guarded_blocks, received

# Colour emoji fonts after the text fonts: sources quote essays that contain emoji
# (setup installs Debian's fonts-noto-color-emoji for the browser test).
EMOJI_FONTS = ["Apple Color Emoji", "Segoe UI Emoji", "Noto Color Emoji"]
FONTS = ["system-ui", "sans-serif", *EMOJI_FONTS]
MODES = {spec.label: spec.name for spec in SPECS.values()}  # the page's mode buttons
CSS = """
.src { border-left: 3px solid #bbb; padding: 6px 10px; margin: 8px 0; }
.src.active { border-left-color: #e08a00; background: #fff6e5; }
.src-text mark { background: #ffe08a; }
.src-ok { color: #1a7f37; font-size: 0.9em; } .src-none { color: #888; font-size: 0.9em; }
.src-bad { color: #b42318; }
"""
# Clicking a citation link [P2](#src-P2) in the answer scrolls to and highlights that passage.
JS = """
() => {
  document.addEventListener('click', (e) => {
    const a = e.target.closest('a[href^="#src-P"]');
    if (!a) return;
    e.preventDefault();
    const el = document.getElementById(a.getAttribute('href').slice(1));
    if (!el) return;
    document.querySelectorAll('.src.active').forEach(x => x.classList.remove('active'));
    el.classList.add('active');
    el.scrollIntoView({behavior: 'smooth', block: 'center'});
  }, true);
}
"""


def _follow_up_passages(a: Assistant, mode: str, text: str, s: Session, k: int) -> Any:
    """Reuse the last answer's passages for an Ask follow-up that retrieval says is on them."""
    if mode != "ask" or s.last is None or not s.last.passages:
        return None
    fresh = {p.chunk.chunk_id for p in a.search(text, k)}
    old = {p.chunk.chunk_id for p in s.last.passages}
    return s.last.passages if len(fresh & old) * 2 >= len(fresh) else None


def respond(a: Assistant, message: str, history: list[dict[str, str]], mode_label: str, k: float,
            temperature: float, length: float, session: Session | None,
            docs: list[str] | None = None) -> Iterator[tuple[Any, ...]]:
    """Stream one chat turn: (history, sources html, download path, session). ``docs``: scope (ids).

    The sources panel fills as soon as retrieval is done; while the model writes, the
    chat shows what step is running and every verified point as it lands (never raw JSON).
    """
    session = session or Session()
    history = list(history or [])
    text = (message or "").strip()
    if not text:
        history.append({"role": "assistant", "content": "⚠ Type a question, motion, position or claim first."})
        yield _snap(history), "", None, session
        return
    mode = MODES.get(mode_label, "ask")
    history += [{"role": "user", "content": f"**{mode_label}:** {text}"},
                {"role": "assistant", "content": "*Searching the sources…*"}]
    yield _snap(history), "", None, session
    session.stop.clear()
    view = LiveView(mode)
    answer: Answer | None = None
    try:
        passages = None if docs else _follow_up_passages(a, mode, text, session, int(k))
        events = a.stream(mode, text, k=int(k), passages=passages, temperature=float(temperature),
                          max_tokens=int(length) or None, docs=docs or None)
        try:
            for event in events:
                if session.stop.is_set():
                    break
                if isinstance(event, Finished):
                    answer = event.answer
                    break
                if view.update(event):
                    history[-1]["content"] = view.markdown()
                    yield _snap(history), view.sources, None, session
        finally:
            events.close()  # stops the model when the user pressed Stop or closed the tab
    except AssistantError as exc:
        history[-1]["content"] = f"⚠ {exc}"
        yield _snap(history), view.sources, None, session
        return
    except Exception:  # a bug: keep the page alive, the traceback goes to the server log
        traceback.print_exc()
        history[-1]["content"] = "⚠ internal error while answering (details in the server log)"
        yield _snap(history), view.sources, None, session
        return
    if answer is None:
        history[-1]["content"] = view.markdown(stopped=True)
        yield _snap(history), view.sources, None, session
        return
    session.last = answer
    history[-1]["content"] = answer_markdown(answer, links=True)
    yield _snap(history), sources_html(answer), _export(answer), session


def _snap(history: list[dict[str, str]]) -> list[dict[str, str]]:
    """A copy per yield: each streamed frame is its own value, not a view of the last one."""
    return [dict(m) for m in history]


def _export(answer: Answer) -> str:
    """Write the answer's Markdown to a temp file for the download button."""
    folder = Path(tempfile.mkdtemp(prefix="assistant-export-"))
    path = folder / f"{answer.mode}.md"
    path.write_text(answer_markdown(answer), encoding="utf-8")
    return str(path)


def _switch_model(a: Assistant, ref: str | None) -> str:
    if not ref:
        return ""
    try:
        return f"✓ Using {a.use_model(ref)}"
    except AssistantError as exc:
        return f"⚠ {exc}"


def documents_rows(a: Assistant) -> list[list[Any]]:
    try:
        return [[d.doc_id, d.title, d.chunks, d.chars, Path(d.source).name] for d in a.documents()]
    except AssistantError:
        return []


def upload(a: Assistant, files: list[Any] | None, *, folder: str | Path | None = None) -> tuple[str, list[list[Any]]]:
    """Index uploaded files; type and size are checked by the ingest itself.

    ``folder``: Gradio's upload folder; when given, every file must be one Gradio received there
    (see ``ui_uploads.py``), else nothing is read and the answer is the one generic refusal.
    """
    if not files:
        return "⚠ Choose one or more files first.", documents_rows(a)
    names = [str(getattr(f, "name", f)) for f in files]
    if folder is not None and not all(received(n, folder) for n in names):
        return REFUSED, documents_rows(a)
    paths = [Path(n) for n in names]
    bad = [p.name for p in paths if p.suffix.lower() not in SUPPORTED]
    if bad:
        return f"⚠ Not accepted: {', '.join(bad)} (use .txt, .md, .pdf or .html)", documents_rows(a)
    try:
        report = a.ingest(paths, show_progress=False)
    except AssistantError as exc:
        return f"⚠ {exc}", documents_rows(a)
    done = report.added + report.replaced + report.unchanged
    return f"✓ Indexed {len(done)} file(s): {', '.join(d.title for d in done)}", documents_rows(a)


def remove(a: Assistant, ref: str) -> tuple[str, list[list[Any]]]:
    try:
        info = a.remove(ref or "")
    except AssistantError as exc:
        return f"⚠ {exc}", documents_rows(a)
    return f"✓ Removed {info.title} ({info.chunks} chunks)", documents_rows(a)


def warm_status(a: Assistant) -> str:
    """The page's start-up line: loading, ready, or what failed (requests then report it too)."""
    if a.warming:
        return "⏳ Loading model… (requests sent now wait for it)"
    if a.warm_error:
        return f"⚠ {a.warm_error}"
    return "✓ Ready" if a.warm_seconds else ""


def build_app(a: Assistant) -> Any:
    """The Gradio Blocks app around ``a``."""
    import gradio as gr

    # Every event's file references are checked before Gradio reads, copies or fetches them.
    with guarded_blocks()(title="Debate assistant") as app:
        ready = gr.Markdown(warm_status(a), elem_id="status")
        poll = gr.Timer(1.0, active=a.warming)
        session = gr.State(None)  # a Session is made on the first turn (State deep-copies its default)
        with gr.Tab("Chat"), gr.Row():
            with gr.Column(scale=3):
                mode = gr.Radio(list(MODES), value="Ask", label="Mode", elem_id="mode")
                chat = gr.Chatbot(label="Conversation", height=520, elem_id="chat")
                box = gr.Textbox(placeholder="Ask a question, or give a motion, position or claim…",
                                 show_label=False, elem_id="prompt")
                with gr.Row():
                    send = gr.Button("Send", variant="primary", elem_id="send")
                    stop = gr.Button("Stop", variant="stop", elem_id="stop")
                    download = gr.DownloadButton("Download", elem_id="download")
                with gr.Row():
                    scope = gr.Dropdown(doc_choices(a), multiselect=True, elem_id="scope",
                                        label="Only these documents (empty = all)")
                    fmt = gr.Radio(LIBRARY_FORMATS, value="md", label="Download as", elem_id="download-format")
                card = sides_panel(a, session)
            with gr.Column(scale=2):
                gr.Markdown("### Sources")
                sources = gr.HTML(elem_id="sources")
        with gr.Tab("Documents"):
            files = gr.File(label="Add documents (.txt .md .pdf .html)", file_count="multiple",
                            file_types=sorted(SUPPORTED), elem_id="upload")
            status = gr.Markdown(elem_id="doc-status")
            table = gr.Dataframe(headers=["id", "title", "chunks", "chars", "file"], value=lambda: documents_rows(a),
                                 interactive=False, elem_id="docs")
            with gr.Row():
                ref = gr.Textbox(label="Remove document (id, file name or title)", elem_id="remove-ref")
                drop = gr.Button("Remove", elem_id="remove")
        with gr.Tab("Settings"):
            choices = a.installed_models()
            model = gr.Dropdown(choices, value=choices[0] if choices else None, label="Model (shared by all users)",
                                elem_id="model")
            model_status = gr.Markdown()
            k = gr.Slider(2, 10, value=a.settings.k, step=1, elem_id="k",
                          label="Passages per request (Overview: key points per side)")
            temperature = gr.Slider(0.0, 1.0, value=a.settings.temperature, step=0.05, label="Temperature")
            length = gr.Slider(0, 1200, value=a.settings.max_tokens, step=50,
                               label="Answer length cap in tokens (0 = the mode's default)")

        history_table = history_tab(a, chat=chat, sources=sources, session=session,
                                    then=(refresh_cards, session, card))

        def chat_fn(message, history, mode_label, k, temperature, length, session, docs=None):  # noqa: ANN001
            yield from respond(a, message, history, mode_label, k, temperature, length, session, docs)

        inputs = [box, chat, mode, k, temperature, length, session, scope]
        outputs = [chat, sources, download, session]
        limit = concurrency(a.settings)  # one in-process model: 1; a model server: the setting
        events = [send.click(chat_fn, inputs, outputs, concurrency_limit=limit, concurrency_id="model",
                             api_name="chat"),
                  box.submit(chat_fn, inputs, outputs, concurrency_limit=limit, concurrency_id="model",
                             api_visibility="private")]
        app.load(lambda: (warm_status(a), gr.Timer(active=a.warming)), None, [ready, poll])
        poll.tick(lambda: (warm_status(a), gr.Timer(active=a.warming)), None, [ready, poll])
        model.change(lambda m: _switch_model(a, m), model, model_status)
        for ev in events:
            ev.then(lambda: "", None, box)
            ev.then(lambda s, f: export_last(a, s, f), [session, fmt], download).then(
                lambda: history_rows(a), None, history_table)
            ev.then(refresh_cards, session, card)
        fmt.change(lambda s, f: export_last(a, s, f), [session, fmt], download)
        stop.click(lambda s: s and s.stop.set(), session, None, cancels=events)  # type: ignore[arg-type]
        refresh_scope = (lambda: gr.Dropdown(choices=doc_choices(a)), None, scope)
        files.upload(lambda f: upload(a, f, folder=app.GRADIO_CACHE), files, [status, table],
                     api_name="upload").then(*refresh_scope)
        drop.click(lambda r: remove(a, r), ref, [status, table], api_name="remove").then(*refresh_scope)
    return app


def serve(a: Assistant, *, host: str = "127.0.0.1", port: int = 7860, block: bool = True,
          warm: bool = True) -> Any:
    """Launch the page on ``host:port``: no share link, system fonts, sign-in when exposed.

    Chat requests run ``concurrency(settings)`` at a time (one per in-process
    model); uploads, removals and model switches stay one at a time. ``warm``:
    load the embedder, index and model and read the system rules in the
    background while the page comes up, so the first request is not cold.
    """
    import gradio as gr

    from .auth import for_host

    check = for_host(host, a.settings)  # refuses a non-loopback bind without users
    if warm:
        a.warm_up(background=True)
    app = build_app(a)
    app.queue(default_concurrency_limit=1)
    theme = gr.themes.Default(font=FONTS, font_mono=["ui-monospace", "monospace", *EMOJI_FONTS])
    app.launch(server_name=host, server_port=port, share=False, inbrowser=False, theme=theme, css=CSS, js=JS,
               max_file_size=a.settings.max_file_bytes, prevent_thread_lock=not block, quiet=False,
               footer_links=[], auth=check, auth_message="Sign in to the debate assistant" if check else None)
    return app
