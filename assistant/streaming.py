"""``Assistant.stream``: a request's events as an iterator, shared by the page and the CLI.

The request runs in a worker thread; its events pass through a queue. When
the consumer stops iterating (Stop button, closed tab, Ctrl-C), the next
token raises ``Cancelled`` inside the worker, llama.cpp resets, and the
worker ends. Not handled: several requests sharing one worker.
"""

from __future__ import annotations

import contextlib
import queue
import threading
from collections.abc import Callable, Generator
from typing import Any

from .errors import Cancelled
from .events import Event, Finished

Events = Generator[Event, None, None]  # closable: closing it stops the worker (the page's Stop)

_DONE = object()


def stream(run: Callable[..., Any], mode: str, text: str, **kw: Any) -> Events:
    """Yield the events of one request; re-raise its error, if any, after the last event.

    ``run`` is ``Assistant.run`` (passed in, so this module sits below the api it serves).
    """
    # Bounded: the worker runs at most one event ahead of the consumer, so a Stop takes effect
    # at the worker's next event rather than after everything it has already queued.
    events: queue.Queue[Any] = queue.Queue(maxsize=1)
    stop = threading.Event()
    failure: list[BaseException] = []

    def on_event(event: Event) -> None:
        if stop.is_set():
            raise Cancelled("stopped")
        events.put(event)

    def work() -> None:
        try:
            run(mode, text, on_event=on_event, **kw)
        except BaseException as exc:  # handed to the consumer, who decides what the user sees
            failure.append(exc)
        finally:
            events.put(_DONE)

    worker = threading.Thread(target=work, name=f"assistant-{mode}", daemon=True)
    worker.start()
    try:
        while (event := events.get()) is not _DONE:
            yield event
            if isinstance(event, Finished):
                break
    finally:
        stop.set()
        while worker.is_alive():  # let a worker blocked on a full queue reach its next event and stop
            with contextlib.suppress(queue.Empty):
                events.get(timeout=0.05)
        worker.join()
    if failure and not isinstance(failure[0], Cancelled):
        raise failure[0]
