"""The fake LLM: deterministic answers that visibly use their inputs, flow reading, tools and scripts."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from mockserver.llm.answer import Attachment, Prompt, compose, follow_up_prompts, split_inlined_docs, tokenize
from mockserver.llm.flow import api_override_enabled, follow_ups_enabled, read_profile
from mockserver.llm.memory import Turn, recall
from mockserver.llm.script import ScriptError, load_script
from mockserver.llm.tools import calculate, run_tools


def chatflow(flow: dict, **columns: object) -> dict:
    return {"id": "11111111-2222-3333-4444-555555555555", "type": "CHATFLOW", "flowData": json.dumps(flow),
            **columns}


def node(node_id: str, name: str, category: str, label: str | None = None, **inputs: object) -> dict:
    return {"id": node_id, "data": {"id": node_id, "name": name, "label": label or name, "category": category,
                                    "inputs": inputs, "outputs": {}}}


def test_same_inputs_same_answer_and_the_seed_varies_it() -> None:
    prompt = Prompt(question="What is Flowise?")
    assert compose(prompt) == compose(Prompt(question="What is Flowise?"))
    texts = {compose(Prompt(question="What is Flowise?", seed=seed)).text for seed in range(12)}
    assert len(texts) > 1
    assert compose(prompt).text.startswith('You asked: "What is Flowise?".')


def test_tokens_rebuild_the_text() -> None:
    answer = compose(Prompt(question="tell me about tokens", history=(Turn("user", "hello"),)))
    assert "".join(answer.tokens) == answer.text
    assert tokenize("Hello from fake") == ["Hello ", "from ", "fake"]


def test_answer_recalls_a_fact_from_history() -> None:
    history = (Turn("user", "Hi, my name is Ada"), Turn("assistant", "Hello Ada"))
    text = compose(Prompt(question="What is my name?", history=history)).text
    assert "Your name is Ada." in text
    assert recall([Turn("user", "I'm a pilot")]).value == "a pilot"
    other = compose(Prompt(question="Any news?", history=(Turn("user", "the sky is blue"),))).text
    assert 'before this you said: "the sky is blue"' in other


def test_answer_cites_documents_tools_variables_and_attachments() -> None:
    prompt = Prompt(
        question="Where is Paris?",
        documents=({"pageContent": "Rome is in Italy. Paris is in France.", "metadata": {"source": "geo.txt"}},),
        used_tools=({"tool": "calculator", "toolInput": {"input": "1+1"}, "toolOutput": "2"},),
        variables=(("tone", "dry"),),
        attachments=(Attachment("cat.png", "image"),),
    )
    text = compose(prompt).text
    assert 'According to geo.txt [1]: "Paris is in France."' in text
    assert "I used the calculator tool, which returned: 2." in text
    assert "Variables: tone=dry." in text
    assert 'You sent an image, "cat.png".' in text


def test_inlined_documents_are_read_back_out_of_the_question() -> None:
    docs, question = split_inlined_docs("<doc name='a.txt'>alpha beta</doc>\n\n\n\nsummarise")
    assert question == "summarise" and docs == [Attachment("a.txt", "file", "alpha beta")]
    text = compose(Prompt(question="<doc name='a.txt'>alpha beta</doc>\n\n\n\nsummarise")).text
    assert text.startswith('You asked: "summarise".') and '"a.txt" (2 words)' in text


@pytest.mark.parametrize("length", [3, 80])
def test_answer_tokens_pads_or_cuts_exactly(length: int) -> None:
    answer = compose(Prompt(question="pad me please"), answer_tokens=length)
    assert len(answer.tokens) == length and "".join(answer.tokens) == answer.text
    assert answer == compose(Prompt(question="pad me please"), answer_tokens=length)


def test_follow_up_prompts_name_the_topic() -> None:
    prompts = follow_up_prompts("How do vector stores work?", "...")
    assert len(prompts) == 3 and all("vector stores" in p for p in prompts)


def test_profile_reads_memory_retrieval_tools_and_splitter() -> None:
    flow = {"nodes": [
        node("bufferMemory_0", "bufferMemory", "Memory", "Buffer Memory", sessionId=""),
        node("memoryVectorStore_0", "memoryVectorStore", "Vector Stores", topK="2"),
        node("calculator_0", "calculator", "Tools"),
        node("splitter_0", "recursiveCharacterTextSplitter", "Text Splitters", chunkSize="300", chunkOverlap="20"),
        node("chain_0", "conversationalRetrievalQAChain", "Chains", returnSourceDocuments=True),
    ], "edges": [{"source": "bufferMemory_0", "target": "chain_0"}]}
    profile = read_profile(chatflow(flow))
    assert profile.memory_label == "Buffer Memory"
    assert profile.retrieval_namespaces == ["11111111-2222-3333-4444-555555555555"] and profile.top_k == 2
    assert [t.name for t in profile.tools] == ["calculator"]
    assert (profile.chunk_size, profile.chunk_overlap) == (300, 20)
    assert profile.return_source_documents is True
    empty = read_profile(chatflow({"nodes": [], "edges": []}))
    assert not empty.has_memory and not empty.retrieves and not empty.tools


def test_overrides_apply_per_key_and_per_node() -> None:
    flow = {"nodes": [node("a", "memoryVectorStore", "Vector Stores", topK="4"),
                      node("b", "memoryVectorStore", "Vector Stores", topK="4")], "edges": []}
    profile = read_profile(chatflow(flow), {"topK": {"b": "1"}, "sessionId": "ignored"})
    assert profile.node("a").inputs["topK"] == "4" and profile.node("b").inputs["topK"] == "1"
    assert api_override_enabled({"apiConfig": json.dumps({"overrideConfig": {"status": True}})})
    assert not api_override_enabled({"apiConfig": "{}"})
    assert follow_ups_enabled({"followUpPrompts": json.dumps({"status": True})})
    assert follow_ups_enabled({"chatbotConfig": json.dumps({"followUpPrompts": {"status": True}})})
    assert not follow_ups_enabled({"followUpPrompts": json.dumps({"status": False})})


def test_an_override_does_not_leak_into_the_next_read_of_the_same_flow() -> None:
    """The parsed flowData is shared between reads of one flow: an override must change only its own copy."""
    row = chatflow({"nodes": [node("a", "memoryVectorStore", "Vector Stores", topK="4", tags=["x"])], "edges": []})
    assert read_profile(row, {"topK": "1", "tags": ["y"]}).node("a").inputs["topK"] == "1"
    again = read_profile(dict(row))
    assert again.node("a").inputs["topK"] == "4" and again.node("a").inputs["tags"] == ["x"]


def test_a_repeated_prompt_gets_an_answer_of_its_own() -> None:
    """Answers to a repeated prompt are remembered; changing one caller's tokens must not change the next's."""
    first = compose(Prompt(question="cache me"), answer_tokens=8)
    first.tokens.append("junk")
    second = compose(Prompt(question="cache me"), answer_tokens=8)
    assert len(second.tokens) == 8 and "".join(second.tokens) == second.text == first.text
    assert compose(Prompt(question="cache me")).text != second.text  # the length is part of the key


def test_calculator_computes_and_other_tools_echo() -> None:
    assert calculate("what is (2 + 3) * 4?") == "20"
    assert calculate("no maths here") is None
    assert calculate("2 ** 1000") is None  # refused, not computed
    profile = read_profile(chatflow({"nodes": [node("c", "calculator", "Tools"), node("s", "serpAPI", "Tools")],
                                     "edges": []}))
    used = run_tools(profile.tools, "what is 6*7")
    assert used[0] == {"tool": "calculator", "toolInput": {"input": "what is 6*7"}, "toolOutput": "42"}
    assert used[1]["tool"] == "serpAPI"


def test_script_rules_match_in_order(tmp_path: Path) -> None:
    path = tmp_path / "script.yaml"
    path.write_text(
        "rules:\n"
        "  - contains: refund\n    answer: 'Refunds take 5 days ({question})'\n"
        "  - regex: '^fail'\n    error: {status: 503, message: down}\n"
        "  - answer: fallback\n", encoding="utf-8")
    script = load_script(str(path))
    assert script.find("Any REFUND?").render("Any REFUND?") == "Refunds take 5 days (Any REFUND?)"
    rule = script.find("failing now")
    assert (rule.error_status, rule.error_message) == (503, "down")
    assert script.find("anything").answer == "fallback"


def test_script_errors_name_the_rule(tmp_path: Path) -> None:
    path = tmp_path / "bad.json"
    path.write_text(json.dumps([{"contains": "x", "answr": "typo"}]), encoding="utf-8")
    with pytest.raises(ScriptError, match="rule 1: unknown field"):
        load_script(str(path))
    with pytest.raises(ScriptError, match="cannot read"):
        load_script(str(tmp_path / "missing.yaml"))
