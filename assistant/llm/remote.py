"""Any OpenAI-compatible chat-completions server as a ``Generator`` (llama.cpp, vLLM, ...).

Streams ``/v1/chat/completions`` over server-sent events with httpx and
passes the answer's JSON schema as ``response_format``: first the OpenAI /
vLLM / llama-server shape (``{"type": "json_schema", ...}``), then the
llama-cpp-python shape (``{"type": "json_object", "schema": ...}``), then
none. Whichever the server accepts first is remembered; without a constraint
the answer is still parsed and verified by the same code, and references that
do not check out are dropped as usual. Token counts come from the server's
tokenize endpoint (``/extras/tokenize/count`` on llama-cpp-python,
``/tokenize`` on llama-server and vLLM), else a conservative estimate
(characters / 3) with a notice on the answer. Not handled: retries, tool
calls, log-probabilities, several models per server.
"""

from __future__ import annotations

import json
import time
from collections.abc import Iterator
from typing import Any

import httpx

from ..errors import ModelError
from .base import Generation, OnToken

FORMATS = ("json_schema", "json_object", "none")
ESTIMATE_NOTICE = ("Prompt size was estimated (characters / 3): the model server has no tokenize endpoint, "
                   "so fewer passages may have been sent than would fit.")
UNCONSTRAINED_NOTICE = ("The model server could not constrain output to the answer's JSON schema; "
                        "every reference was still verified and unverifiable ones dropped.")


class RemoteGenerator:
    """A model behind ``url`` (``http://host:port`` or ``.../v1``); nothing is sent until first use.

    ``transport`` is for tests (``httpx.MockTransport``); by default httpx talks to the network.
    """

    def __init__(self, url: str, *, model: str = "", api_key: str = "", n_ctx: int = 4096,
                 timeout: float = 600.0, transport: httpx.BaseTransport | None = None) -> None:
        self.url = url.rstrip("/")
        self.root = self.url.removesuffix("/v1")
        self._model = model
        self._n_ctx = n_ctx
        self._models: list[dict[str, Any]] | None = None
        self._format: str | None = None  # the response_format shape the server accepted
        self._tokenizer: str | None = None  # "" once probed and none found
        self._counts: dict[str, int] = {}
        self.estimated = self.unconstrained = False
        headers = {"Authorization": f"Bearer {api_key}"} if api_key else {}
        self._http = httpx.Client(headers=headers, timeout=httpx.Timeout(timeout, connect=5.0),
                                  limits=httpx.Limits(max_connections=64), transport=transport)

    # -- what the pipeline reads ------------------------------------------------

    @property
    def name(self) -> str:
        """The configured model name, else the first model the server lists."""
        if not self._model:
            models = self._list_models()
            self._model = str(models[0].get("id", "")) if models else ""
            self._model = self._model or "remote model"
        return self._model

    @property
    def n_ctx(self) -> int:
        """The configured context size, capped by the server's own limit where it reports one (vLLM)."""
        limits = [int(m["max_model_len"]) for m in self._list_models() if m.get("max_model_len")]
        return min([self._n_ctx, *limits])

    @property
    def notices(self) -> tuple[str, ...]:
        """Facts about this server that every answer it wrote should carry."""
        return tuple(n for n, on in ((ESTIMATE_NOTICE, self.estimated),
                                     (UNCONSTRAINED_NOTICE, self.unconstrained)) if on)

    def count_tokens(self, text: str) -> int:
        if text in self._counts:
            return self._counts[text]
        if self._tokenizer is None:
            self._tokenizer = self._probe_tokenizer(text)
        n = self._tokenize(self._tokenizer, text) if self._tokenizer else None
        if n is None:
            self.estimated = True
            n = len(text) // 3 + 1
        if len(self._counts) > 16:
            self._counts.clear()
        self._counts[text] = n
        return n

    def generate(self, messages: list[dict[str, str]], *, schema: dict[str, Any] | None = None,
                 max_tokens: int = 512, temperature: float = 0.2,
                 on_token: OnToken | None = None) -> Generation:
        """Stream a chat completion; ``schema`` constrains the output where the server can."""
        body = {"model": self.name, "messages": messages, "max_tokens": max_tokens,
                "temperature": temperature, "seed": 0, "stream": True}
        shapes = ["none"] if schema is None else [self._format] if self._format else list(FORMATS)
        for i, shape in enumerate(shapes):
            try:
                gen = self._stream({**body, **_response_format(shape, schema)}, messages, on_token)
            except _Rejected:
                if i == len(shapes) - 1:
                    raise
                continue
            if schema is not None:
                self._format = shape
                self.unconstrained = shape == "none"
            return gen
        raise AssertionError("unreachable")

    def close(self) -> None:
        self._http.close()

    # -- HTTP ---------------------------------------------------------------

    def _stream(self, payload: dict[str, Any], messages: list[dict[str, str]],
                on_token: OnToken | None) -> Generation:
        start = time.perf_counter()
        first: float | None = None
        pieces: list[str] = []
        usage: dict[str, Any] = {}
        finished = False
        try:
            with self._http.stream("POST", f"{self.root}/v1/chat/completions", json=payload) as r:
                _raise_for(r, self.url, format_rejectable="response_format" in payload)
                for chunk in _events(r):
                    usage = chunk.get("usage") or usage
                    choices = chunk.get("choices") or [{}]
                    delta = (choices[0].get("delta") or {}).get("content")
                    finished = finished or bool(choices[0].get("finish_reason"))
                    if delta:
                        first = first or time.perf_counter()
                        pieces.append(delta)
                        if on_token:
                            on_token(delta)
        except httpx.TransportError as exc:
            raise self._lost(exc, started=bool(pieces)) from None
        if not finished:  # the stream ended without a finish reason: the server went away
            raise self._lost(ConnectionError("the stream ended early"), started=True)
        end = time.perf_counter()
        prompt = usage.get("prompt_tokens") or self.count_tokens("\n".join(m["content"] for m in messages))
        return Generation(text="".join(pieces), prompt_tokens=int(prompt),
                          completion_tokens=int(usage.get("completion_tokens") or len(pieces)),
                          ttft_s=(first or end) - start, total_s=end - start)

    def _list_models(self) -> list[dict[str, Any]]:
        if self._models is None:
            r = self._request("GET", "/v1/models")
            data = r.json().get("data") if r.status_code == 200 else None
            self._models = [m for m in data if isinstance(m, dict)] if isinstance(data, list) else []
        return self._models

    def _probe_tokenizer(self, text: str) -> str:
        for path in ("/extras/tokenize/count", "/tokenize"):
            if self._tokenize(path, text) is not None:
                return path
        return ""

    def _tokenize(self, path: str, text: str) -> int | None:
        """Token count from llama-cpp-python (``input``), llama-server (``content``) or vLLM (``prompt``)."""
        body = {"input": text} if path.startswith("/extras") else \
            {"content": text, "prompt": text, "model": self.name, "add_special_tokens": False}
        r = self._request("POST", path, json=body)
        try:
            data = r.json() if r.status_code == 200 else {}
        except ValueError:
            return None
        if isinstance(data.get("count"), int):
            return int(data["count"])
        return len(data["tokens"]) if isinstance(data.get("tokens"), list) else None

    def _request(self, method: str, path: str, **kw: Any) -> httpx.Response:
        try:
            r = self._http.request(method, self.root + path, **kw)
        except httpx.TransportError as exc:
            raise self._lost(exc, started=False) from None
        if r.status_code in (401, 403):
            _raise_for(r, self.url, format_rejectable=False)
        return r

    def _lost(self, exc: Exception, *, started: bool) -> ModelError:
        reason = (str(exc) or type(exc).__name__).splitlines()[0][:120]
        if started:
            return ModelError(f"lost the model server at {self.url} mid-answer ({reason}); nothing was saved "
                              "or changed: try again when it is back")
        return ModelError(f"cannot reach the model server at {self.url} ({reason}): is it running, "
                          "and is ASSISTANT_LLM_URL right?")


class _Rejected(ModelError):
    """The server refused the request as shaped (most often: an unsupported response_format)."""


def _response_format(shape: str, schema: dict[str, Any] | None) -> dict[str, Any]:
    if shape == "json_schema":
        return {"response_format": {"type": "json_schema",
                                    "json_schema": {"name": "answer", "schema": schema, "strict": False}}}
    if shape == "json_object":
        return {"response_format": {"type": "json_object", "schema": schema}}
    return {}


def _raise_for(r: httpx.Response, url: str, *, format_rejectable: bool) -> None:
    """One-line errors for HTTP failures; a 400/422 may just mean "not this response_format".

    The detail is squashed to one line and cut at 200 characters.
    """
    if r.status_code < 400:
        return
    r.read()
    detail = " ".join(r.text.split())[:200]
    if r.status_code in (401, 403):
        raise ModelError(f"the model server at {url} refused the request ({r.status_code}): "
                         "check ASSISTANT_LLM_API_KEY")
    # llama-cpp-python reports its request validation errors as 500s that name the field.
    if format_rejectable and (r.status_code in (400, 422) or "response_format" in r.text):
        raise _Rejected(f"the model server at {url} rejected the request ({r.status_code}): {detail}")
    raise ModelError(f"the model server at {url} answered {r.status_code}: {detail}")


def _events(r: httpx.Response) -> Iterator[dict[str, Any]]:
    """The JSON payloads of a server-sent event stream, up to ``[DONE]``."""
    for line in r.iter_lines():
        if not line.startswith("data:"):
            continue
        data = line[5:].strip()
        if data == "[DONE]":
            return
        try:
            chunk = json.loads(data)
        except json.JSONDecodeError:
            continue
        if isinstance(chunk, dict) and chunk.get("error"):
            err = chunk["error"]
            message = err.get("message", err) if isinstance(err, dict) else err
            raise ModelError(f"the model server failed mid-answer: {' '.join(str(message).split())[:200]}")
        if isinstance(chunk, dict):
            yield chunk
