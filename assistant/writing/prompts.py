"""Prompt templates: plain files in ``prompts/``, loaded by name.

Placeholders are ``{{name}}``; rendering with a missing or an unexpected
variable is an error, never a silent blank. Users may edit the files; the
JSON schemas that constrain the answers stay in code (``modes.py``) because
the verification depends on them.
"""

from __future__ import annotations

import re
from functools import cache
from pathlib import Path

from ..errors import ConfigError

_PLACEHOLDER = re.compile(r"\{\{(\w+)\}\}")


@cache
def _read(path: Path, mtime_ns: int) -> str:  # mtime in the key: edits show up without a restart
    return path.read_text(encoding="utf-8")


def load(prompts_dir: Path, name: str) -> str:
    """The raw template ``prompts_dir/name.txt``."""
    path = Path(prompts_dir) / f"{name}.txt"
    if not path.is_file():
        raise ConfigError(f"prompt template not found: {path}")
    return _read(path, path.stat().st_mtime_ns)


def instructions(prompts_dir: Path, name: str) -> str:
    """The template's own words, placeholders blanked: what an output must not repeat (``finish.echoes``)."""
    return _PLACEHOLDER.sub(" ", load(prompts_dir, name))


def placeholders(prompts_dir: Path, name: str) -> set[str]:
    """The variables a template uses."""
    return set(_PLACEHOLDER.findall(load(prompts_dir, name)))


def render(prompts_dir: Path, name: str, **values: str) -> str:
    """Fill a template; every placeholder must be given, and nothing else.

    >>> import tempfile, pathlib; d = pathlib.Path(tempfile.mkdtemp())
    >>> _ = (d / "t.txt").write_text("Q: {{request}}")
    >>> render(d, "t", request="why?")
    'Q: why?'
    """
    template = load(prompts_dir, name)
    wanted = set(_PLACEHOLDER.findall(template))
    if missing := wanted - set(values):
        raise ConfigError(f"prompt {name}: missing variable(s) {', '.join(sorted(missing))}")
    if extra := set(values) - wanted:
        raise ConfigError(f"prompt {name}: unexpected variable(s) {', '.join(sorted(extra))}")
    # One pass over the template: a value containing "{{x}}" is left as typed.
    return _PLACEHOLDER.sub(lambda m: values[m.group(1)], template).strip()
