"""The model: a ``Generator`` protocol and what implements it.

In-process llama.cpp (local, sampler), an OpenAI-compatible server
(remote), and the registry of bundled GGUF files (models). Knows nothing of
passages, modes or prompts; imports only the shared bottom.
"""
