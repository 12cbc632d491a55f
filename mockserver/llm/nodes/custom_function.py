"""The Custom Function node: its JavaScript runs in the sandbox of javascript.py and returns the content."""

from __future__ import annotations

import json

from mockserver.llm.javascript import JavaScriptError, run_function
from mockserver.llm.nodes.base import NodeCall, NodeFailure, as_text, list_input
from mockserver.llm.nodes.registry import handles


@handles("customFunctionAgentflow")
def custom_function(call: NodeCall) -> None:
    """The code sees ``$input`` (the question), ``$vars``, ``$flow`` and one ``$<name>`` per input variable; a
    returned object becomes JSON text (two-space indented), anything else is the content as it is, streamed
    as one token. Code that throws fails the node with Flowise's ``NodeVM Execution Error`` message."""
    run, ctx, inputs = call.entry, call.ctx, call.inputs
    code = str(inputs.get("customFunctionJavascriptFunction") or "")
    variables = [dict(v) for v in list_input(inputs.get("customFunctionInputVariables"))]
    for variable in variables:
        if isinstance(variable.get("variableValue"), str):
            variable["variableValue"] = call.resolve(variable["variableValue"])
    run.input = {"inputVariables": variables, "code": code}
    given = ctx.question or ("\n".join(f"{k}: {v}" for k, v in ctx.form.items()) if ctx.form else "")
    flow = {"input": given, "state": ctx.state, "chatflowId": ctx.chatflow_id, "sessionId": ctx.session_id,
            "chatId": ctx.chat_id, "rawOutput": "", "chatHistory": []}
    sandbox = {"$input": given, "$vars": ctx.variables, "$flow": flow,
               **{f"${v['variableName']}": v.get("variableValue") for v in variables if v.get("variableName")}}
    try:
        kind, value = run_function(code, sandbox)
    except JavaScriptError as exc:
        raise NodeFailure(f"Error: NodeVM Execution Error: {exc}") from None
    content = json.dumps(value, indent=2, ensure_ascii=False) if kind == "object" else value
    run.output = {} if kind == "undefined" else {"content": content}
    call.update_state("customFunctionUpdateState", as_text(content) if content is not None else "")
    run.single_token = True
    run.tokens = [as_text(content)] if content else []
