"""The fake LLM behind an OpenAI-compatible API, so a real Flowise can use the mock as its model.

Point a Flowise ChatOpenAI node's ``basepath`` at ``http://127.0.0.1:PORT/v1`` (any API key): Flowise
sends ``POST /v1/chat/completions`` (always ``stream: true`` with ``stream_options.include_usage`` when the
node streams) and the mock answers with the same engine as its own chatflows. The last user message is
the question and the earlier user/assistant messages are the history, so for the same question and
history a real Flowise driven by the mock and the mock's own chatflow produce the same text. A
Condition Agent's question gets the scenario the mock's own Condition Agent would pick (scenarios.py).

Also served: ``GET /v1/models`` and ``POST /v1/embeddings`` (llm/embedding.py's 256-dim vectors, for a
Flowise OpenAI Embeddings node). A model named ``error-<status>`` (e.g. ``error-429``) answers that status
with an OpenAI error body, as the fake server used to observe Flowise did; the ``X-Mock-*`` headers of
faults.py apply too. Errors use OpenAI's ``{"error": {message, type, param, code}}`` shape.
"""

from __future__ import annotations

import asyncio
import hashlib
import json
import random
import re
import time
from typing import Any

from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import BaseRoute, Route

from mockserver.errors import FlowiseError
from mockserver.faults import read_faults
from mockserver.jsonbody import MalformedJSONError, parse_json
from mockserver.llm.answer import Answer, Attachment, Prompt, compose, tokenize
from mockserver.llm.embedding import embed
from mockserver.llm.memory import Turn
from mockserver.llm.scenarios import best_scenario, scenario_answer, scenario_request
from mockserver.state import MockState
from mockserver.streaming import (
    OPENAI_DONE,
    EventStreamResponse,
    Finish,
    StreamPlan,
    Tokens,
    openai_frame,
    paced_frames,
)
from mockserver.timing import chunk_tokens, generation_slot

__all__ = ["openai_routes", "prompt_from_messages"]

MODELS = ("flowise-mock", "gpt-4o-mini", "gpt-4o", "gpt-3.5-turbo", "text-embedding-3-small")
_ERROR_MODEL = re.compile(r"^error-(\d{3})$")
_ERROR_TYPES = {400: "invalid_request_error", 401: "authentication_error", 403: "permission_error",
                404: "not_found_error", 429: "rate_limit_error"}


class OpenAIError(Exception):
    """An error answered in OpenAI's shape."""

    def __init__(self, status: int, message: str, *, param: str | None = None, code: str | None = None) -> None:
        super().__init__(message)
        self.status, self.message, self.param, self.code = status, message, param, code

    def body(self) -> dict[str, Any]:
        kind = _ERROR_TYPES.get(self.status, "server_error" if self.status >= 500 else "invalid_request_error")
        return {"error": {"message": self.message, "type": kind, "param": self.param, "code": self.code}}

    def response(self) -> JSONResponse:
        return JSONResponse(self.body(), status_code=self.status)


def _text_of(content: Any) -> tuple[str, list[Attachment]]:
    """A message's text and attachments (``content`` may be a string or a list of parts)."""
    if content is None:
        return "", []
    if isinstance(content, str):
        return content, []
    if not isinstance(content, list):
        raise OpenAIError(400, "message content must be a string or an array of content parts", param="messages")
    texts, attachments = [], []
    for part in content:
        if not isinstance(part, dict):
            raise OpenAIError(400, "each content part must be an object", param="messages")
        if part.get("type") == "text":
            texts.append(str(part.get("text", "")))
        elif part.get("type") == "image_url":
            url = part.get("image_url", {}).get("url", "") if isinstance(part.get("image_url"), dict) else ""
            attachments.append(Attachment("image" if str(url).startswith("data:") else str(url), "image"))
    return "\n".join(texts), attachments


def prompt_from_messages(messages: Any, *, seed: int | None) -> Prompt:
    """The engine's prompt for an OpenAI message list: last user message = question, earlier turns = history."""
    if not isinstance(messages, list) or not messages:
        raise OpenAIError(400, "messages must be a non-empty array", param="messages")
    turns: list[tuple[str, str, list[Attachment]]] = []
    for index, message in enumerate(messages):
        if not isinstance(message, dict) or not isinstance(message.get("role"), str):
            raise OpenAIError(400, f"messages[{index}] must be an object with a role", param=f"messages[{index}]")
        text, attachments = _text_of(message.get("content"))
        turns.append((message["role"], text, attachments))
    last_user = max((i for i, t in enumerate(turns) if t[0] == "user"), default=None)
    if last_user is None:
        return Prompt(question="", seed=seed)
    history = tuple(Turn("user" if role == "user" else "assistant", text)
                    for role, text, _ in turns[:last_user] if role in ("user", "assistant"))
    _, question, attachments = turns[last_user]
    return Prompt(question=question, history=history, attachments=tuple(attachments), seed=seed)


def _completion_id(body: dict[str, Any]) -> str:
    digest = hashlib.blake2b(json.dumps(body, sort_keys=True, default=str).encode(), digest_size=12).hexdigest()
    return f"chatcmpl-{digest}"


def _limit(body: dict[str, Any]) -> int | None:
    value = body.get("max_completion_tokens", body.get("max_tokens"))
    if value is None:
        return None
    if not isinstance(value, int) or isinstance(value, bool) or value < 1:
        raise OpenAIError(400, "max_tokens must be a positive integer", param="max_tokens")
    return value


async def _json_body(request: Request) -> dict[str, Any]:
    try:
        body = parse_json(await request.body() or b"null")
    except MalformedJSONError as exc:
        raise OpenAIError(400, f"We could not parse the JSON body of your request: {exc}") from None
    if not isinstance(body, dict):
        raise OpenAIError(400, "the request body must be a JSON object")
    return body


def _check_model(body: dict[str, Any]) -> str:
    model = body.get("model")
    if not isinstance(model, str) or not model:
        raise OpenAIError(400, "you must provide a model parameter", param="model")
    forced = _ERROR_MODEL.match(model)
    if forced and 400 <= int(forced.group(1)) <= 599:
        status = int(forced.group(1))
        raise OpenAIError(status, f"fake error {status} for model {model}", code=f"mock_{status}")
    return model


class _Completions:
    def __init__(self, state: MockState) -> None:
        self.state = state

    async def handle(self, request: Request) -> Response:
        try:
            return await self.answer(request)
        except OpenAIError as exc:
            return exc.response()
        except FlowiseError as exc:
            return OpenAIError(exc.status, exc.message).response()

    async def answer(self, request: Request) -> Response:
        settings = self.state.settings
        loop = asyncio.get_running_loop()
        received = loop.time()
        body = await _json_body(request)
        model = _check_model(body)
        faults = read_faults(request.headers)
        prompt = prompt_from_messages(body.get("messages"), seed=settings.llm_seed)
        limit = _limit(body)
        if faults.delay_ms:
            await asyncio.sleep(faults.delay_ms / 1000.0)
            received = loop.time()
        injected = faults.error()
        if injected is not None:
            raise OpenAIError(injected.status, injected.message)
        answer = compose(prompt, answer_tokens=settings.answer_tokens)
        asked_for = scenario_request(prompt.question)
        if asked_for is not None:  # a Condition Agent asking which scenario applies
            text = scenario_answer(asked_for[1][best_scenario(*asked_for)])
            answer = Answer(text, tokenize(text))
        tokens = answer.tokens[:limit] if limit else answer.tokens
        finish = "length" if limit is not None and len(answer.tokens) > limit else "stop"
        prompt_tokens = len(tokenize(prompt.question)) + sum(len(tokenize(t.content)) for t in prompt.history)
        usage = {"prompt_tokens": prompt_tokens, "completion_tokens": len(tokens),
                 "total_tokens": prompt_tokens + len(tokens)}
        ident, created = _completion_id(body), int(time.time())
        timing = faults.timing(settings)
        rng = random.Random(ident)
        chunks = chunk_tokens(tokens, timing.tokens_per_chunk)
        if body.get("stream") is True:
            options = body.get("stream_options")
            with_usage = isinstance(options, dict) and options.get("include_usage") is True
            return self.stream(ident, created, model, chunks, finish, usage if with_usage else None,
                               timing=timing, rng=rng, cut_after=faults.abort_after, anchor=received)
        asked = loop.time()
        async with generation_slot(self.state.slots, settings.max_concurrent):
            start = received if loop.time() - asked < 0.001 else loop.time()
            delay = start + timing.total(len(chunks), rng) - loop.time()
            if delay > 0:
                await asyncio.sleep(delay)
        return JSONResponse({
            "id": ident, "object": "chat.completion", "created": created, "model": model,
            "choices": [{"index": 0, "message": {"role": "assistant", "content": "".join(tokens), "refusal": None},
                         "logprobs": None, "finish_reason": finish}],
            "usage": usage, "system_fingerprint": None,
        })

    def stream(self, ident: str, created: int, model: str, chunks: list[str], finish: str,
               usage: dict[str, Any] | None, **pacing: Any) -> Response:
        def chunk(delta: dict[str, Any], reason: str | None = None) -> bytes:
            frame: dict[str, Any] = {
                "id": ident, "object": "chat.completion.chunk", "created": created, "model": model,
                "system_fingerprint": None,
                "choices": [{"index": 0, "delta": delta, "logprobs": None, "finish_reason": reason}],
            }
            if usage is not None:
                frame["usage"] = None
            return openai_frame(frame)

        def closing() -> list[bytes]:
            frames = [chunk({}, finish)]
            if usage is not None:
                frames.append(openai_frame({"id": ident, "object": "chat.completion.chunk", "created": created,
                                            "model": model, "system_fingerprint": None, "choices": [],
                                            "usage": usage}))
            return [*frames, OPENAI_DONE]

        def failed(message: str) -> list[bytes]:
            return [openai_frame(OpenAIError(500, message).body()), OPENAI_DONE]

        steps: list[Any] = [chunk({"role": "assistant", "content": "", "refusal": None})]
        if chunks:
            steps.append(Tokens(chunks, lambda _i, text: chunk({"content": text})))
        steps.append(Finish(closing))
        plan = StreamPlan(steps=steps, on_error=failed, heartbeat=None)
        settings = self.state.settings
        frames = paced_frames(plan, streams=self.state.streams, slots=self.state.slots,
                              heartbeat_s=settings.heartbeat_s,
                              max_concurrent=settings.max_concurrent, **pacing)
        return EventStreamResponse(frames, headers={"Cache-Control": "no-cache"})


def _models(_request: Request) -> Response:
    return JSONResponse({"object": "list", "data": [
        {"id": name, "object": "model", "created": 0, "owned_by": "flowise-mock"} for name in MODELS]})


def _model(request: Request) -> Response:
    name = request.path_params["model"]
    return JSONResponse({"id": name, "object": "model", "created": 0, "owned_by": "flowise-mock"})


async def _embeddings(request: Request) -> Response:
    try:
        body = await _json_body(request)
        model = _check_model(body)
        raw = body.get("input")
        inputs = [raw] if isinstance(raw, str) else raw
        if not isinstance(inputs, list) or not inputs or not all(isinstance(i, str) for i in inputs):
            raise OpenAIError(400, "input must be a string or an array of strings", param="input")
    except OpenAIError as exc:
        return exc.response()
    except FlowiseError as exc:  # e.g. a body over the limit
        return OpenAIError(exc.status, exc.message).response()
    count = sum(len(tokenize(text)) for text in inputs)
    return JSONResponse({
        "object": "list",
        "data": [{"object": "embedding", "index": i, "embedding": embed(text)} for i, text in enumerate(inputs)],
        "model": model, "usage": {"prompt_tokens": count, "total_tokens": count},
    })


def openai_routes(state: MockState) -> list[BaseRoute]:
    """The ``/v1`` routes, mounted by ``create_app`` outside ``/api/v1`` (no Flowise auth applies)."""
    return [
        Route("/v1/chat/completions", _Completions(state).handle, methods=["POST"]),
        Route("/v1/models", _models, methods=["GET"]),
        Route("/v1/models/{model:path}", _model, methods=["GET"]),
        Route("/v1/embeddings", _embeddings, methods=["POST"]),
    ]
