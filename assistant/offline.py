"""Keep every library we use offline and quiet.

Set before any heavy import: Hugging Face hubs never contacted, Chroma's and
Gradio's telemetry off. Values a user set explicitly are respected, except the
hub switches, which the product must never turn on.
"""

from __future__ import annotations

import os

FORCED = {
    "HF_HUB_OFFLINE": "1",
    "TRANSFORMERS_OFFLINE": "1",
    "HF_DATASETS_OFFLINE": "1",
    "HF_HUB_DISABLE_TELEMETRY": "1",
    "ANONYMIZED_TELEMETRY": "False",  # chromadb
    "GRADIO_ANALYTICS_ENABLED": "False",
    "DO_NOT_TRACK": "1",
}
DEFAULTS = {
    "TOKENIZERS_PARALLELISM": "false",  # avoids fork warnings in the CLI
    "HF_HUB_DISABLE_PROGRESS_BARS": "1",  # transformers' per-load "Loading weights" bar
}


def enforce() -> None:
    """Set the offline and no-telemetry environment for this process."""
    os.environ.update(FORCED)
    for key, value in DEFAULTS.items():
        os.environ.setdefault(key, value)
