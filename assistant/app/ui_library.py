"""The page's answer library: the History tab, export format choices, the document scope picker.

Plain functions (tested without a browser) plus ``history_tab``, which builds
the tab inside ``ui.build_app``'s Blocks and wires it to the Chat tab's
conversation, sources panel and session. Exports are written to a fresh temp
folder per download. Not handled: renaming or searching saved answers.
"""

from __future__ import annotations

import tempfile
from pathlib import Path
from typing import Any

from ..api import Assistant
from ..errors import AssistantError
from ..output.export import export
from ..output.render import answer_markdown, sources_html
from ..types import Answer
from .session import Session

FORMATS = ["md", "docx", "pdf", "json"]


def doc_choices(a: Assistant) -> list[tuple[str, str]]:
    """(label, doc_id) pairs for the scope picker."""
    try:
        return [(f"{d.title} ({Path(d.source).name})", d.doc_id) for d in a.documents()]
    except AssistantError:
        return []


def history_rows(a: Assistant) -> list[list[Any]]:
    try:
        return [[e.id, e.created, e.mode, e.request, e.verified] for e in a.history().entries()]
    except AssistantError:
        return []


def export_file(a: Assistant, answer: Answer | None, fmt: str, *, name: str = "", documents: Any = None) -> str | None:
    """Write ``answer`` in format ``fmt`` to a temp file for a download button (None: nothing to export)."""
    if answer is None:
        return None
    folder = Path(tempfile.mkdtemp(prefix="assistant-export-"))
    path = folder / f"{name or answer.mode}.{fmt if fmt in FORMATS else 'md'}"
    return str(export(answer, path, documents=documents or a.lookup))


def export_last(a: Assistant, session: Any, fmt: str) -> str | None:
    """The chat's download: the session's last answer in the chosen format."""
    try:
        return export_file(a, getattr(session, "last", None), fmt)
    except AssistantError:
        return None


def open_saved(a: Assistant, ref: str, fmt: str, session: Any) -> tuple[Any, ...]:
    """(status, answer md, sources html, export file, chat history, chat sources, session) for a saved id."""
    try:
        saved = a.saved(ref)
        path = export_file(a, saved.answer, fmt, name=f"answer-{saved.entry.id}", documents=a.saved_lookup(saved))
    except AssistantError as exc:
        return f"⚠ {exc}", "", "", None, _keep(), _keep(), session
    session = session or Session()
    session.last = saved.answer
    md, html = answer_markdown(saved.answer, links=True), sources_html(saved.answer)
    chat = [{"role": "user", "content": f"**{saved.entry.mode.title()}:** {saved.answer.request}"},
            {"role": "assistant", "content": md}]
    status = f"✓ Opened #{saved.entry.id} ({saved.entry.created}); it is also back in the Chat tab."
    return status, md, html, path, chat, html, session


def delete_saved(a: Assistant, ref: str) -> tuple[str, list[list[Any]]]:
    try:
        entry = a.history().forget(ref)
    except AssistantError as exc:
        return f"⚠ {exc}", history_rows(a)
    return f"✓ Deleted #{entry.id}: {entry.request[:80]}", history_rows(a)


def _keep() -> Any:
    import gradio as gr

    return gr.skip()


def history_tab(a: Assistant, *, chat: Any, sources: Any, session: Any, then: tuple[Any, ...] = ()) -> Any:
    """Build the History tab (call inside the Blocks); returns its table, to refresh after each answer.

    ``then``: (function, inputs, outputs) to run after a saved answer is opened into the chat.
    """
    import gradio as gr

    with gr.Tab("History"):
        table = gr.Dataframe(headers=["id", "saved", "mode", "request", "quotes"], value=lambda: history_rows(a),
                             interactive=False, elem_id="history")
        with gr.Row():
            ref = gr.Textbox(label="Answer id (or click a row)", elem_id="history-id")
            fmt = gr.Radio(FORMATS, value="docx", label="Export as", elem_id="history-format")
        with gr.Row():
            open_btn = gr.Button("Open", variant="primary", elem_id="history-open")
            download = gr.DownloadButton("Export", elem_id="history-export")
            delete = gr.Button("Delete", variant="stop", elem_id="history-delete")
        status = gr.Markdown(elem_id="history-status")
        with gr.Row():
            answer = gr.Markdown(elem_id="history-answer")
            panel = gr.HTML(elem_id="history-sources")

    def pick(evt: Any) -> str:
        row = getattr(evt, "row_value", None) or []
        return str(row[0]) if row else ""

    pick.__annotations__["evt"] = gr.SelectData  # Gradio finds the event parameter by its (real) type

    table.select(pick, None, ref)
    opened = [status, answer, panel, download, chat, sources, session]
    events = [open_btn.click(lambda r, f, s: open_saved(a, r, f, s), [ref, fmt, session], opened,
                             api_name="history_open"),
              fmt.change(lambda r, f, s: open_saved(a, r, f, s) if (r or "").strip() else (gr.skip(),) * 7,
                         [ref, fmt, session], opened)]
    for ev in events if then else ():
        ev.then(*then)
    delete.click(lambda r: delete_saved(a, r), ref, [status, table], api_name="history_delete")
    return table
