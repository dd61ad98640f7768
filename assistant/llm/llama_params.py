"""The llama.cpp fields ``Llama()`` has no argument for, set on its defaults while a model loads.

Used by ``local.py`` and by ``assistant.model_server`` (llama-cpp-python's server). Not handled:
context fields (only the model's are set here).
"""

from __future__ import annotations

import contextlib
from collections.abc import Iterator
from pathlib import Path
from typing import Any


@contextlib.contextmanager
def model_params() -> Iterator[None]:
    """The model fields ``Llama()`` has no argument for (see ``safe_model_fields``), set on its defaults.

    Also used by ``assistant.model_server`` around llama-cpp-python's server.
    """
    with llama_defaults("llama_model_default_params", safe_model_fields()):
        yield


def safe_model_fields(cpuinfo: str | None = None, system_info: str | None = None) -> dict[str, Any]:
    """No extra weight buffers where llama.cpp would use its AMX kernels.

    A llama.cpp built with AMX (natively, on a Xeon Sapphire Rapids or later) puts the weights
    in its AMX buffer type on a CPU that has AMX, and llama-cpp-python 0.3.36's build then
    crashes (SIGSEGV) in the first decode of every model we ship (found 2026-12-01; the tiny,
    fast and default models all crashed, all ran with this off). Everywhere else the extra
    buffers (the CPU repack kernels) stay on. Measured on that CPU, default model: this build
    with them off reads 129 prompt tokens/s and writes 11.5/s; a build without AMX
    (``-mno-amx-*``) with the repack kernels on, 90-95 and 13.4/s: no faster overall, so
    set-up keeps the native build.

    >>> safe_model_fields("flags : fpu avx2 amx_tile amx_int8", "CPU : AVX2 = 1 | AMX_INT8 = 1 |")
    {'use_extra_bufts': False}
    >>> safe_model_fields("flags : fpu avx2 amx_tile amx_int8", "CPU : AVX2 = 1 | REPACK = 1 |")
    {}
    >>> safe_model_fields("flags : fpu avx2", "CPU : AVX2 = 1 | AMX_INT8 = 1 |")
    {}
    """
    if cpuinfo is None:
        try:
            cpuinfo = Path("/proc/cpuinfo").read_text(encoding="utf-8", errors="replace")
        except OSError:
            return {}
    flags = {f for line in cpuinfo.splitlines() if line.startswith("flags") for f in line.split()}
    if not flags & {"amx_tile", "amx_int8"}:
        return {}
    if system_info is None:
        import llama_cpp

        system_info = llama_cpp.llama_print_system_info().decode("utf-8", "replace")
    return {"use_extra_bufts": False} if "AMX_INT8 = 1" in system_info else {}


@contextlib.contextmanager
def llama_defaults(name: str, fields: dict[str, Any]) -> Iterator[None]:
    """Set ``fields`` on what ``llama_cpp.llama_cpp.<name>()`` returns, while inside.

    ``Llama()`` has no argument for some context and model fields; it starts from these defaults.
    """
    import llama_cpp.llama_cpp as ll

    original = getattr(ll, name)

    def patched() -> Any:
        params = original()
        for key, value in fields.items():
            setattr(params, key, value)
        return params

    setattr(ll, name, patched)
    try:
        yield
    finally:
        setattr(ll, name, original)
