"""The backend factory and the OpenAI-compatible generator's protocol logic.

The HTTP servers here are scripted (``httpx.MockTransport``) to pin down how
the client negotiates ``response_format``, counts tokens and reports
failures; tests/test_servers.py runs the same client against a real
llama-cpp-python server.
"""

from __future__ import annotations

import json
import socket
from collections.abc import Callable
from pathlib import Path
from typing import Any

import httpx
import pytest

from assistant import Assistant, Settings
from assistant.backends import build_generator, concurrency, describe, open_store
from assistant.errors import ConfigError, ModelError, StoreError
from assistant.index.store import Store
from assistant.llm.local import LlamaGenerator
from assistant.llm.remote import ESTIMATE_NOTICE, UNCONSTRAINED_NOTICE, RemoteGenerator
from tests.conftest import SEEDS
from tests.fakes import FakeEmbedder

Handler = Callable[[httpx.Request], httpx.Response]


def sse(*contents: str, finish: bool = True, usage: dict[str, int] | None = None) -> httpx.Response:
    """A chat-completions event stream carrying ``contents`` as deltas."""
    events = [{"choices": [{"delta": {"content": c}, "finish_reason": None}]} for c in contents]
    if finish:
        events.append({"choices": [{"delta": {}, "finish_reason": "stop"}], **({"usage": usage} if usage else {})})
    body = "".join(f"data: {json.dumps(e)}\n\n" for e in events) + ("data: [DONE]\n\n" if finish else "")
    return httpx.Response(200, text=body, headers={"content-type": "text/event-stream"})


class Scripted:
    """A model server: ``accepts`` lists the response_format types it takes; records every request."""

    def __init__(self, reply: str, *, accepts: tuple[str, ...] = (), tokenize: str = "", **stream: Any) -> None:
        self.reply, self.accepts, self.tokenize, self.stream = reply, accepts, tokenize, stream
        self.seen: list[httpx.Request] = []

    def __call__(self, request: httpx.Request) -> httpx.Response:
        self.seen.append(request)
        path = request.url.path
        body = json.loads(request.content or b"{}")
        if path == "/v1/models":
            return httpx.Response(200, json={"data": [{"id": "served-model", "max_model_len": 3000}]})
        if path == self.tokenize:
            return httpx.Response(200, json={"count": 7} if "extras" in path else {"tokens": [1, 2, 3]})
        if path == "/v1/chat/completions":
            fmt = (body.get("response_format") or {}).get("type")
            if fmt and fmt not in self.accepts:
                return httpx.Response(422, json={"detail": f"response_format {fmt} not supported"})
            return sse(*[w + " " for w in self.reply.split(" ")], **self.stream)
        return httpx.Response(404, json={"detail": "Not Found"})

    def formats(self) -> list[str | None]:
        return [(json.loads(r.content).get("response_format") or {}).get("type")
                for r in self.seen if r.url.path == "/v1/chat/completions"]


def remote(handler: Handler, **kw: Any) -> RemoteGenerator:
    return RemoteGenerator("http://model.test:8080/v1", transport=httpx.MockTransport(handler), **kw)


SCHEMA = {"type": "object", "properties": {"covered": {"type": "boolean"}}}
MSGS = [{"role": "user", "content": "hello there"}]


def test_defaults_are_the_laptop_backends(tmp_path: Path) -> None:
    gguf = tmp_path / "any.gguf"
    gguf.write_bytes(b"GGUF")  # not loaded: the factory only picks the in-process implementation
    s = Settings.load(chroma_url="", llm_url="", model=str(gguf))
    assert describe(s) == "embedded Chroma + in-process llama.cpp" and concurrency(s) == 1
    assert isinstance(build_generator(s), LlamaGenerator)
    store = open_store(s, embedder="fake", create=True, index_dir=tmp_path / "ix")
    assert isinstance(store, Store) and (tmp_path / "ix" / "chroma").is_dir()


def test_server_settings_from_environment_and_flags(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("ASSISTANT_LLM_URL", "http://10.0.0.2:8000/v1")
    monkeypatch.setenv("ASSISTANT_LLM_API_KEY", "sk-secret")
    monkeypatch.setenv("ASSISTANT_CHROMA_TOKEN", "chroma-secret")
    monkeypatch.setenv("ASSISTANT_CONCURRENCY", "3")
    s = Settings.load(chroma_url="http://127.0.0.1:8001")
    assert isinstance(build_generator(s), RemoteGenerator) and concurrency(s) == 3
    assert describe(s) == "Chroma server http://127.0.0.1:8001 + model server http://10.0.0.2:8000/v1"
    assert "secret" not in repr(s)  # keys and tokens never reach a log line
    for bad in ({"llm_url": "localhost:8080"}, {"chroma_url": "ftp://x"}, {"concurrency": 0}):
        with pytest.raises(ConfigError):
            Settings.load(**bad)


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def test_no_chroma_server_is_one_clear_store_error(tmp_path: Path) -> None:
    s = Settings.load(chroma_url=f"http://127.0.0.1:{free_port()}")
    with pytest.raises(StoreError, match=r"the Chroma server at http://127.0.0.1:\d+ failed") as err:
        open_store(s, embedder="fake", create=True, index_dir=tmp_path / "ix")
    assert "\n" not in str(err.value)


def test_llama_cpp_python_shape_is_found_and_remembered() -> None:
    server = Scripted('{"covered": true}', accepts=("json_object",), tokenize="/extras/tokenize/count")
    gen = remote(server)
    streamed: list[str] = []
    out = gen.generate(MSGS, schema=SCHEMA, on_token=streamed.append)
    assert out.text.strip() == '{"covered": true}' and "".join(streamed) == out.text
    gen.generate(MSGS, schema=SCHEMA)
    assert server.formats() == ["json_schema", "json_object", "json_object"]  # negotiated once
    body = json.loads(server.seen[-1].content)
    assert body["response_format"]["schema"] == SCHEMA and body["stream"] is True
    assert gen.count_tokens("some text") == 7 and gen.notices == ()
    assert gen.name == "served-model" and gen.n_ctx == 3000  # capped by the server's own limit


def test_vllm_shape_sends_the_schema_as_json_schema() -> None:
    server = Scripted("{}", accepts=("json_schema",), tokenize="/tokenize", usage={"prompt_tokens": 11,
                                                                                      "completion_tokens": 2})
    gen = remote(server, model="my-model", api_key="sk-1")
    out = gen.generate(MSGS, schema=SCHEMA)
    body = json.loads(server.seen[0].content)
    assert body["response_format"]["json_schema"]["schema"] == SCHEMA and body["model"] == "my-model"
    assert server.seen[0].headers["authorization"] == "Bearer sk-1"
    assert (out.prompt_tokens, out.completion_tokens) == (11, 2)
    assert gen.count_tokens("abc") == 3


def test_plain_server_falls_back_to_unconstrained_and_estimates_with_notices() -> None:
    gen = remote(Scripted("{}"))
    gen.generate(MSGS, schema=SCHEMA)
    assert gen.count_tokens("x" * 300) == 101  # chars / 3, rounded up: never under-counts
    assert gen.notices == (ESTIMATE_NOTICE, UNCONSTRAINED_NOTICE)


def test_ask_through_a_plain_server_is_verified_and_carries_the_notices(tmp_path: Path) -> None:
    reply = json.dumps({"points": [{"text": "Home working helps.", "evidence": ["S1"]},
                                   {"text": "Made up.", "evidence": ["S999"]}], "gaps": ""})
    a = Assistant(Settings.load(index_dir=tmp_path / "ix"), embedder=FakeEmbedder(), generator=remote(Scripted(reply)))
    a.ingest([SEEDS], show_progress=False)
    # ask is one step, so one scripted reply is its whole answer (the other modes' steps are covered in-process).
    ans = a.ask("Does working from home hurt productivity?", k=3)
    assert ans.quotes and all(q.verified for q in ans.quotes)  # the invented id is dropped, as in-process
    good = ans.quotes[0]
    assert a.document(good.doc_id).text[good.start:good.end] == good.text
    assert ESTIMATE_NOTICE in ans.notices and UNCONSTRAINED_NOTICE in ans.notices


def test_http_failures_are_one_line_model_errors() -> None:
    def refuse(_r: httpx.Request) -> httpx.Response:
        return httpx.Response(401, json={"error": "bad key"})

    with pytest.raises(ModelError, match="ASSISTANT_LLM_API_KEY"):
        remote(refuse, model="m").generate(MSGS)
    with pytest.raises(ModelError, match="mid-answer"):
        remote(Scripted('{"covered": tr', finish=False), model="m").generate(MSGS)
    gone = RemoteGenerator(f"http://127.0.0.1:{free_port()}", model="m")
    with pytest.raises(ModelError, match=r"cannot reach the model server .* ASSISTANT_LLM_URL") as err:
        gone.generate(MSGS)
    assert "\n" not in str(err.value)


def test_remote_model_is_not_switched_from_the_page(tmp_path: Path) -> None:
    a = Assistant(Settings.load(index_dir=tmp_path / "ix", llm_url="http://127.0.0.1:9/v1"), embedder=FakeEmbedder())
    assert a.installed_models() == []
    with pytest.raises(ConfigError, match="chosen by the model server"):
        a.use_model("fast")
