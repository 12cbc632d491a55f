"""The LLM node (and, through ``run_model``, the Agent node): the fake model answers the user message.

The answer comes from answer.py, with the session's history when ``llmEnableMemory``/``agentEnableMemory``
is on, the flow's knowledge stores and the agent's tools; the node reports Flowise's usage and response
metadata, records its ``chatHistory`` and applies its update-state list.
"""

from __future__ import annotations

import time
from typing import Any

from mockserver.llm.answer import Prompt, compose, tokenize
from mockserver.llm.flow import Node
from mockserver.llm.nodes.base import NodeCall
from mockserver.llm.nodes.registry import handles
from mockserver.llm.retrieval import retrieve
from mockserver.llm.tools import run_tools

__all__ = ["llm_metadata", "run_model"]


@handles("llmAgentflow")
def llm(call: NodeCall) -> None:
    run_model(call, "llm")


def run_model(call: NodeCall, prefix: str) -> None:
    """An LLM (``prefix`` ``llm``) or Agent (``agent``) node: the model's answer, streamed token by token
    with the trailing usage events, and its state updates."""
    run = call.entry
    run.input, run.output, run.source_documents, run.used_tools = _ask_model(call, prefix)
    run.tokens = tokenize(run.content)
    run.extra = {"chatHistory": _chat_history(run.node, prefix, run.input["messages"], run.content)}
    usage = {k: run.output["usageMetadata"][k] for k in ("input_tokens", "output_tokens", "total_tokens")}
    run.trailing = [("token", ""), ("token", ""), ("calledTools", []),
                    ("usageMetadata", {**usage, "input_token_details": {}, "output_token_details": {}})]
    call.update_state(f"{prefix}UpdateState", run.content)


def _messages(node: Node, call: NodeCall, user_text: str, with_memory: bool) -> list[dict[str, str]]:
    configured = node.inputs.get("llmMessages") or node.inputs.get("agentMessages") or []
    messages = [
        {"role": str(m.get("role", "system")), "content": str(m.get("content", ""))}
        for m in configured if isinstance(m, dict)
    ]
    if with_memory:
        messages.extend({"role": t.role, "content": t.content} for t in call.ctx.history)
    messages.append({"role": "user", "content": user_text})
    return messages


def _ask_model(call: NodeCall, prefix: str) -> tuple[
        dict[str, Any], dict[str, Any], list[dict[str, Any]] | None, list[dict[str, Any]] | None]:
    node, ctx, profile = call.node, call.ctx, call.graph.profile
    with_memory = node.truthy(f"{prefix}EnableMemory")
    user_template = node.inputs.get(f"{prefix}UserMessage")
    user_text = call.resolve(user_template) if isinstance(user_template, str) and user_template.strip() \
        else ctx.question
    documents = retrieve(ctx.db, profile, user_text) if profile.retrieves else []
    tools = []
    for entry in node.inputs.get("agentTools") or []:
        if isinstance(entry, dict) and entry.get("agentSelectedTool"):
            tools.append(Node(id=str(entry["agentSelectedTool"]), name=str(entry["agentSelectedTool"]),
                              label=str(entry["agentSelectedTool"]), category="Tools",
                              inputs=dict(entry.get("agentSelectedToolConfig") or {})))
    used_tools = run_tools(tools, user_text, ctx.db) if tools else []
    started = time.time()
    answer = compose(
        Prompt(question=user_text, history=tuple(ctx.history) if with_memory else (),
               documents=tuple(documents), used_tools=tuple(used_tools),
               variables=tuple(sorted((k, str(v)) for k, v in ctx.variables.items())),
               attachments=ctx.attachments, seed=ctx.seed),
        answer_tokens=ctx.answer_tokens,
    )
    messages = _messages(node, call, user_text, with_memory)
    input_tokens = sum(len(tokenize(m["content"])) for m in messages)
    output_tokens = len(answer.tokens)
    ended = time.time()
    config = node.inputs.get(f"{prefix}ModelConfig")
    model_name = str(config.get("modelName") or "mock-llm") if isinstance(config, dict) else "mock-llm"
    output: dict[str, Any] = {
        "content": answer.text,
        "timeMetadata": {"start": int(started * 1000), "end": int(ended * 1000),
                         "delta": int((ended - started) * 1000)},
        "calledTools": [],
        **llm_metadata(input_tokens, output_tokens, model_name),
    }
    if documents and profile.return_source_documents:
        output["sourceDocuments"] = documents
    if used_tools:
        output["usedTools"] = used_tools
    # The node's own inputs are echoed beside the messages, as Flowise's executed data shows them.
    inputs = {key: value for key, value in node.inputs.items()
              if key.startswith(prefix) and key not in (f"{prefix}Messages", f"{prefix}UserMessage")
              and value not in ("", None)}
    if isinstance(inputs.get(f"{prefix}ModelConfig"), dict):  # the credential's id is not shown
        inputs[f"{prefix}ModelConfig"] = {k: v for k, v in inputs[f"{prefix}ModelConfig"].items()
                                          if k != "FLOWISE_CREDENTIAL_ID"}
    return ({"messages": messages, **inputs}, output,
            documents if profile.return_source_documents and documents else None, used_tools or None)


def _chat_history(node: Node, prefix: str, messages: list[dict[str, str]], answer: str) -> list[dict[str, str]]:
    """The node's ``chatHistory`` as Flowise records it: the conversation without system prompts, then the
    answer under the node's name, as a user message when the node returns its response that way."""
    role = "user" if node.inputs.get(f"{prefix}ReturnResponseAs", "userMessage") == "userMessage" else "assistant"
    name = (node.label or node.name).strip().lower().replace(" ", "_")
    return [*(m for m in messages if m.get("role") != "system"), {"role": role, "content": answer, "name": name}]


def llm_metadata(sent: int, said: int, model_name: str, *, streamed: bool = True) -> dict[str, Any]:
    """``usageMetadata`` and ``responseMetadata`` of a call to the fake model, as Flowise reports them: the
    provider's usage with token details and costs (zero: the mock's model has no price), and LangChain's
    metadata, whose keys come in another order, with its own token estimate, for a call not streamed."""
    usage = {"input_tokens": sent, "output_tokens": said, "total_tokens": sent + said}
    details: dict[str, dict[str, Any]] = {"input_token_details": {}, "output_token_details": {}}
    costs = {"input_cost": 0, "output_cost": 0, "total_cost": 0}
    bases = {"base_input_cost": 0, "base_output_cost": 0}
    provider = {"model_provider": "openai",
                "usage": {"prompt_tokens": sent, "completion_tokens": said, "total_tokens": sent + said}}
    ending = {"finish_reason": "stop", "system_fingerprint": None, "model_name": model_name}
    if streamed:
        return {"usageMetadata": {**usage, **details, **bases, **costs},
                "responseMetadata": {"prompt": 0, "completion": 0, **provider, **ending}}
    estimate = {"promptTokens": sent, "completionTokens": said, "totalTokens": sent + said}
    return {"usageMetadata": {**usage, **details, **costs, **bases},
            "responseMetadata": {"estimatedTokenUsage": estimate, "prompt": 0, "completion": 0, **ending, **provider}}
