"""The layers stay layers: the import contract in pyproject.toml holds, and covers every part of the package.

docs/architecture.md says what each layer holds. Not handled here: imports made at run
time by name (``importlib``); the package makes none.
"""

from __future__ import annotations

import subprocess
import sys
import tomllib
from pathlib import Path

from tests.conftest import REPO


def _layers() -> list[str]:
    config = tomllib.loads((REPO / "pyproject.toml").read_text(encoding="utf-8"))["tool"]["importlinter"]
    (contract,) = [c for c in config["contracts"] if c["type"] == "layers"]
    return [name.strip() for layer in contract["layers"] for name in layer.split("|")]


def test_import_contract_is_kept() -> None:
    """0 imports run up a layer, 0 circles between siblings (``lint-imports``, as ``make lint`` runs it)."""
    lint = Path(sys.executable).with_name("lint-imports")
    proc = subprocess.run([str(lint), "--no-cache"], capture_output=True, text=True, cwd=REPO, timeout=300)
    assert proc.returncode == 0, proc.stdout[-3000:] + proc.stderr[-2000:]
    assert "0 broken" in proc.stdout


def test_every_module_and_subpackage_has_a_layer() -> None:
    """A new module beside api.py or a new subpackage must be placed in the contract, not escape it."""
    package = REPO / "assistant"
    modules = {p.stem for p in package.glob("*.py")}
    parts = modules | {p.name for p in package.iterdir() if (p / "__init__.py").is_file()}
    entry = {"__init__", "__main__"}  # the package itself and `python -m assistant` (imports app.cli only)
    assert sorted(parts - entry - set(_layers())) == []
