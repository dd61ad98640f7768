"""Settings: the one place that knows paths and tunables.

Precedence: defaults < ``ASSISTANT_*`` environment variables < explicit
overrides (CLI flags, API keyword arguments). Nothing here imports a heavy
library, so ``assistant --help`` stays fast.
"""

from __future__ import annotations

import os
import re
from dataclasses import dataclass, field, fields, replace
from pathlib import Path
from typing import Any

from .errors import ConfigError

PACKAGE_DIR = Path(__file__).resolve().parent
# Short environment names for the path settings (ASSISTANT_INDEX rather than ASSISTANT_INDEX_DIR).
ENV_NAMES = {"index_dir": "ASSISTANT_INDEX", "cache_dir": "ASSISTANT_CACHE", "seeds_dir": "ASSISTANT_SEEDS",
             "prompts_dir": "ASSISTANT_PROMPTS", "models_file": "ASSISTANT_MODELS_FILE"}


def _project_home() -> Path:
    """The project checkout (holds models.txt, seeds/, prompts/), else the working directory."""
    env = os.environ.get("ASSISTANT_HOME")
    if env:
        return Path(env).expanduser().resolve()
    candidate = PACKAGE_DIR.parent
    return candidate if (candidate / "models.txt").is_file() else Path.cwd()


def _default_cache() -> Path:
    base = os.environ.get("XDG_CACHE_HOME") or str(Path.home() / ".cache")
    return Path(base) / "assistant"


@dataclass(frozen=True)
class Settings:
    """Every path and tunable the assistant uses."""

    home: Path
    index_dir: Path
    cache_dir: Path
    models_file: Path
    seeds_dir: Path
    prompts_dir: Path
    model: str = "default"  # a role, a models.txt name, or a path to a .gguf
    embedder: str = "all-MiniLM-L6-v2"  # a known name or a sentence-transformers folder
    k: int = 6
    retrieval: str = "hybrid"  # hybrid | dense | lexical
    chunk_size: int = 800
    chunk_overlap: int = 120
    max_file_mb: float = 20.0
    embed_batch: int = 16  # texts per call for torch and fp32 ONNX; int8 embeds each text alone (index/embed.py)
    # auto = the backend an existing index was built with, else embed.DEFAULT_BACKEND; torch | onnx | onnx-int8
    embed_backend: str = "auto"
    n_ctx: int = 4096  # tokens; prompts are ~1,500, answers up to 900
    temperature: float = 0.2
    max_tokens: int = 0  # answer length cap; 0 = the mode's default
    threads: int = 0  # llama.cpp threads; 0 = physical cores
    save_history: bool = True  # keep every answer in the index's history (assistant history / show)

    @property
    def max_file_bytes(self) -> int:
        """The upload/ingest size limit in bytes: MB means 10^6 bytes everywhere (app, page, messages)."""
        return int(self.max_file_mb * 1_000_000)

    # Team server (docs/deploy.md): empty = embedded Chroma / in-process llama.cpp, as on a laptop.
    chroma_url: str = ""  # a Chroma server, e.g. http://127.0.0.1:8000
    chroma_token: str = field(default="", repr=False)
    llm_url: str = ""  # any OpenAI-compatible server, e.g. http://127.0.0.1:8080/v1
    llm_model: str = ""  # the server's model name; empty = the first one it lists
    llm_api_key: str = field(default="", repr=False)
    llm_timeout: float = 600.0  # seconds without a byte from the model server (a queued request waits)
    concurrency: int = 4  # requests the page serves at once with a model server (in-process: always 1)
    auth_file: str = ""  # "user:hash" lines from `assistant passwd USER`
    auth: str = field(default="", repr=False)  # the same entries, whitespace-separated, from the environment

    @property
    def models_dir(self) -> Path:
        """Where assembled GGUF files and verification stamps live (outside the repo)."""
        return self.cache_dir / "models"

    @classmethod
    def load(cls, **overrides: Any) -> Settings:
        """Defaults, then ``ASSISTANT_*`` variables, then non-None ``overrides``."""
        home = _project_home()
        base = cls(
            home=home,
            index_dir=home / "index",
            cache_dir=_default_cache(),
            models_file=home / "models.txt",
            seeds_dir=home / "seeds",
            prompts_dir=home / "prompts",
        )
        values: dict[str, Any] = {}
        for f in fields(cls):
            raw = os.environ.get(ENV_NAMES.get(f.name, f"ASSISTANT_{f.name.upper()}"))
            if raw is not None and raw != "":
                values[f.name] = _coerce(f.name, raw, getattr(base, f.name))
        values.update({k: v for k, v in overrides.items() if v is not None})
        unknown = set(values) - {f.name for f in fields(cls)}
        if unknown:
            raise ConfigError(f"unknown setting(s): {', '.join(sorted(unknown))}")
        settings = replace(base, **{k: _as_path(v, getattr(base, k)) for k, v in values.items()})
        settings.validate()
        return settings

    def validate(self) -> None:
        """Fail early, naming the bad value."""
        if self.k < 1 or self.k > 100:
            raise ConfigError(f"k must be between 1 and 100, got {self.k}")
        if self.retrieval not in {"hybrid", "dense", "lexical"}:
            raise ConfigError(f"retrieval must be hybrid, dense or lexical, got {self.retrieval!r}")
        if self.chunk_size < 100 or not 0 <= self.chunk_overlap < self.chunk_size:
            raise ConfigError(
                f"chunk_size must be >= 100 and 0 <= chunk_overlap < chunk_size, "
                f"got {self.chunk_size}/{self.chunk_overlap}"
            )
        if not 0.0 <= self.temperature <= 2.0:
            raise ConfigError(f"temperature must be between 0 and 2, got {self.temperature}")
        if self.n_ctx < 1024 or self.max_tokens < 0 or self.threads < 0:
            raise ConfigError(f"n_ctx must be >= 1024 and max_tokens, threads >= 0, got "
                              f"{self.n_ctx}/{self.max_tokens}/{self.threads}")
        if self.embed_backend not in {"auto", "torch", "onnx", "onnx-int8"}:
            raise ConfigError(f"embed_backend must be auto, torch, onnx or onnx-int8, got {self.embed_backend!r}")
        if self.max_file_mb <= 0:
            raise ConfigError(f"max_file_mb must be positive, got {self.max_file_mb}")
        self._validate_servers()

    def _validate_servers(self) -> None:
        for name, env in (("chroma_url", "ASSISTANT_CHROMA_URL"), ("llm_url", "ASSISTANT_LLM_URL")):
            url = getattr(self, name)
            if url and not re.fullmatch(r"https?://[^/\s:]+(:\d{1,5})?(/\S*)?", url):
                raise ConfigError(f"{env} must look like http://HOST:PORT, got {url!r}")
        if not 1 <= self.concurrency <= 64 or self.llm_timeout <= 0:
            raise ConfigError(f"concurrency must be between 1 and 64 and llm_timeout positive, got "
                              f"{self.concurrency}/{self.llm_timeout}")


def _coerce(name: str, raw: str, default: Any) -> Any:
    """Convert an environment string to the type of the default value."""
    try:
        if isinstance(default, bool):
            return raw.strip().lower() in {"1", "true", "yes", "on"}
        if isinstance(default, int):
            return int(raw)
        if isinstance(default, float):
            return float(raw)
    except ValueError:
        env = ENV_NAMES.get(name, f"ASSISTANT_{name.upper()}")
        raise ConfigError(f"{env}={raw!r} is not a valid {type(default).__name__}") from None
    return raw


def _as_path(value: Any, default: Any) -> Any:
    if isinstance(default, Path) and not isinstance(value, Path):
        return Path(str(value)).expanduser().resolve()
    if isinstance(value, Path):
        return value.expanduser().resolve()
    return value
