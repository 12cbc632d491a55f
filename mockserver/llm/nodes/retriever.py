"""The Retriever node: the text of the chunks matching the question, from the flow's knowledge stores."""

from __future__ import annotations

from mockserver.llm.answer import tokenize
from mockserver.llm.nodes.base import NodeCall
from mockserver.llm.nodes.registry import handles
from mockserver.llm.retrieval import retrieve


@handles("retrieverAgentflow")
def retriever(call: NodeCall) -> None:
    ctx = call.ctx
    documents = retrieve(ctx.db, call.graph.profile, ctx.question)
    call.entry.input = {"question": ctx.question}
    call.entry.output = {"content": "\n\n".join(d["pageContent"] for d in documents)}
    call.entry.tokens = tokenize(call.entry.content)
