"""The model: a ``Generator`` protocol and what implements it.

The protocol, the ``Generation`` record and JSON reading (base), in-process
llama.cpp (local, sampler, llama_params), an OpenAI-compatible server
(remote), and the registry of bundled GGUF files (models). Knows nothing of
passages, modes or prompts; imports only the shared bottom.
"""
