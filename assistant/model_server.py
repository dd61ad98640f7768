"""``python -m assistant.model_server``: llama-cpp-python's OpenAI-compatible server, made safe here.

Takes exactly the arguments of ``python -m llama_cpp.server`` (``--model``,
``--host``, ``--port``, ...) and runs that server with the llama.cpp model
settings the in-process model uses (``llm/llama_params.model_params``): on CPUs with AMX the
plain server crashes in its first decode (see ``llm/llama_params.safe_model_fields``).
"""

from __future__ import annotations

import sys


def main() -> int:
    from llama_cpp.server.__main__ import main as serve

    from .llm.llama_params import model_params

    with model_params():  # the models are loaded inside serve(), before uvicorn starts
        serve()
    return 0


if __name__ == "__main__":
    sys.exit(main())
