"""One browser session's state on the page, shared by ui.py and ui_library.py.

Not handled: anything that outlives the tab (answers persist in the history, not here).
"""

from __future__ import annotations

import threading
from dataclasses import dataclass, field

from ..types import Answer


@dataclass
class Session:
    """One browser session's state: its last answer and a stop flag."""

    last: Answer | None = None
    stop: threading.Event = field(default_factory=threading.Event)
