"""A local, offline debate and rebuttal assistant.

Public API::

    from assistant import Assistant
    a = Assistant()                      # settings from defaults + ASSISTANT_* env vars
    a.ingest(["essays/"])
    for p in a.search("Does remote work hurt productivity?", k=5):
        print(p.rank, p.chunk.title, p.chunk.start, p.chunk.end)

Importing this package is cheap: heavy libraries load on first use.
"""

from . import offline

offline.enforce()

from .api import Assistant  # noqa: E402
from .config import Settings  # noqa: E402
from .errors import AssistantError, ConfigError, InputError, ModelError, StoreError  # noqa: E402
from .types import Chunk, Document, DocumentInfo, IngestReport, Passage  # noqa: E402

__all__ = [
    "Assistant",
    "AssistantError",
    "Chunk",
    "ConfigError",
    "Document",
    "DocumentInfo",
    "IngestReport",
    "InputError",
    "ModelError",
    "Passage",
    "Settings",
    "StoreError",
]
__version__ = "0.1.0"
