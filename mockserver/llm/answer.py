"""The deterministic fake LLM: one answer per (question, history, documents, tools, vars, seed).

The answer visibly uses each input so a test or a frontend can see it was wired through: it quotes the
question, recalls a fact from the history ("Your name is Ada."), names attached files, reports tool
results, cites retrieved chunks with their source, and lists the variables it was given. A sentence from a
fixed bank, picked by a digest of all inputs (and ``--llm-seed``), makes different inputs read differently.
Nothing depends on the clock, the process or the chatflow id, so the OpenAI-compatible endpoint (which
only sees messages) and a chatflow given the same question and history produce the same text.

Flowise inlines ``file:full`` uploads into the LLM's question as ``<doc name='x'>...</doc>`` blocks; the
engine reads them back out of the question, so it answers the same whether it is called by the mock's
own prediction handler or by a real Flowise through ``/v1/chat/completions``.
"""

from __future__ import annotations

import hashlib
import json
import re
from dataclasses import dataclass, field
from typing import Any

from mockserver.llm.embedding import words
from mockserver.llm.memory import Turn, recall

__all__ = ["Answer", "Attachment", "Prompt", "compose", "follow_up_prompts", "split_inlined_docs", "tokenize"]

_DOC = re.compile(r"<doc name='([^']*)'>(.*?)</doc>\s*", re.DOTALL)
_TOKEN = re.compile(r"\s*\S+\s*")
_MAX_QUOTE = 300
_ANSWER_CACHE_SIZE = 4096
_CACHED_MATERIAL_MAX = 8192
#: (prompt material, answer_tokens) -> (text, tokens), oldest first.
_ANSWERS: dict[tuple[str, int | None], tuple[str, tuple[str, ...]]] = {}

_BANK = (
    "This reply comes from the Flowise mock's deterministic model.",
    "Ask again with the same inputs and you will get these exact words.",
    "No language model was called to write this; the mock composed it from your inputs.",
    "The mock keeps answers short, stable and easy to assert on.",
    "Every part of this reply is traceable to something you sent.",
    "Change the question, the history or the documents and the reply changes with them.",
    "The wording here is fixed by a digest of the conversation.",
    "Streaming, memory and retrieval all work here without an API key.",
)
_PADDING = ("The", "mock", "pads", "this", "answer", "to", "the", "configured", "length", "with",
            "steady", "filler", "words", "so", "token", "counts", "stay", "exact.")
_STOPWORDS = frozenset(
    "a an and are as at be but by can could did do does for from had has have how i in is it its me my "
    "of on or our please so tell that the their them then there these they this to was we what when where "
    "which who why will with would you your about more some any just also".split()
)


@dataclass(frozen=True)
class Attachment:
    """An upload the LLM is told about: ``kind`` is image, audio, url or file; ``text`` for readable files."""

    name: str
    kind: str
    text: str = ""


@dataclass(frozen=True)
class Prompt:
    """Everything the answer depends on (see the module docstring)."""

    question: str
    history: tuple[Turn, ...] = ()
    documents: tuple[dict[str, Any], ...] = ()
    used_tools: tuple[dict[str, Any], ...] = ()
    variables: tuple[tuple[str, str], ...] = ()
    attachments: tuple[Attachment, ...] = ()
    seed: int | None = None


@dataclass
class Answer:
    """The composed text and its stream tokens (``"".join(tokens) == text``)."""

    text: str
    tokens: list[str] = field(default_factory=list)


def split_inlined_docs(question: str) -> tuple[list[Attachment], str]:
    """Separate Flowise's inlined ``<doc name='..'>..</doc>`` blocks from the question proper."""
    docs = [Attachment(m.group(1), "file", m.group(2)) for m in _DOC.finditer(question)]
    return docs, _DOC.sub("", question).strip() if docs else question


def tokenize(text: str) -> list[str]:
    """Word tokens with their trailing whitespace, like an OpenAI stream's pieces ("Hello ", "from ")."""
    return _TOKEN.findall(text) if text.strip() else ([text] if text else [])


def _material(prompt: Prompt) -> str:
    """Every input of the answer as one canonical JSON text: the digest's input and the cache's key."""
    return json.dumps(
        {
            "q": prompt.question,
            "h": [[t.role, t.content] for t in prompt.history],
            "d": list(prompt.documents),
            "t": list(prompt.used_tools),
            "v": [list(v) for v in prompt.variables],
            "a": [[a.name, a.kind, a.text] for a in prompt.attachments],
            "s": prompt.seed,
        },
        sort_keys=True,
        ensure_ascii=False,
        default=str,
    )


def _digest(material: str) -> int:
    return int.from_bytes(hashlib.blake2b(material.encode("utf-8"), digest_size=8).digest(), "big")


def _quote(text: str, limit: int = _MAX_QUOTE) -> str:
    flat = " ".join(text.split())
    return flat if len(flat) <= limit else flat[: limit - 1].rstrip() + "…"


def _best_sentence(text: str, question: str, max_words: int = 25) -> str:
    wanted = set(words(question)) - _STOPWORDS
    sentences = [s.strip() for s in re.split(r"(?<=[.!?])\s+|\n+", text) if s.strip()] or [text.strip()]
    best = max(sentences, key=lambda s: (len(wanted & set(words(s))), -sentences.index(s)))
    tokens = best.split()
    return " ".join(tokens[:max_words]) + ("…" if len(tokens) > max_words else "")


def _source_name(metadata: dict[str, Any], index: int) -> str:
    for key in ("source", "fileName", "filename", "title", "name"):
        value = metadata.get(key)
        if isinstance(value, str) and value:
            return value
    return f"document {index}"


def _history_sentence(history: tuple[Turn, ...], question: str) -> str | None:
    if not history:
        return None
    fact = recall(list(history))
    if fact is not None:
        direct = fact.answer_to(question)
        if direct:
            return direct + f' (You told me earlier: "{_quote(fact.said, 120)}".)'
        return f'Earlier you said: "{_quote(fact.said, 120)}".'
    user_turns = [t for t in history if t.role == "user"]
    if user_turns:
        return f'This is message {len(user_turns) + 1} of our conversation; before this you said: "{_quote(user_turns[-1].content, 120)}".'
    return None


def _attachment_sentence(attachment: Attachment) -> str:
    if attachment.kind == "image":
        return f'You sent an image, "{attachment.name}".'
    if attachment.kind == "audio":
        return f'You sent an audio clip, "{attachment.name}".'
    if attachment.kind == "url":
        return f"You linked {attachment.name}."
    count = len(attachment.text.split())
    opening = " ".join(attachment.text.split()[:12])
    if not opening:
        return f'You attached "{attachment.name}", which is empty.'
    return f'You attached "{attachment.name}" ({count} words), which begins: "{opening}".'


def _sentences(prompt: Prompt, digest: int) -> list[str]:
    inlined, question = split_inlined_docs(prompt.question)
    question = question.strip()
    parts = [f'You asked: "{_quote(question)}".' if question else "You sent no question."]
    remembered = _history_sentence(prompt.history, question)
    if remembered:
        parts.append(remembered)
    parts.extend(_attachment_sentence(a) for a in (*inlined, *prompt.attachments))
    for tool in prompt.used_tools:
        parts.append(f"I used the {tool.get('tool')} tool, which returned: {_quote(str(tool.get('toolOutput')), 160)}.")
    for index, document in enumerate(prompt.documents[:2], start=1):
        given = document.get("metadata")
        metadata: dict[str, Any] = given if isinstance(given, dict) else {}
        snippet = _best_sentence(str(document.get("pageContent", "")), question)
        parts.append(f'According to {_source_name(metadata, index)} [{index}]: "{snippet}".')
    if prompt.variables:
        parts.append("Variables: " + ", ".join(f"{k}={v}" for k, v in prompt.variables) + ".")
    parts.append(_BANK[digest % len(_BANK)])
    return parts


def _fit(tokens: list[str], length: int, digest: int) -> list[str]:
    if len(tokens) >= length:
        cut = tokens[:length]
        cut[-1] = cut[-1].rstrip()
        return cut
    padded = list(tokens)
    if padded:
        padded[-1] = padded[-1].rstrip() + " "
    offset = digest % len(_PADDING)
    while len(padded) < length:
        padded.append(_PADDING[(offset + len(padded)) % len(_PADDING)] + " ")
    padded[-1] = padded[-1].rstrip()
    return padded


def compose(prompt: Prompt, *, answer_tokens: int | None = None) -> Answer:
    """The answer to ``prompt``; ``answer_tokens`` pads or cuts it to exactly that many tokens.

    Answers are a pure function of the prompt, so the last few thousand short prompts' answers are kept: a
    load test asking the same question over and over costs one composition, not one per request."""
    material = _material(prompt)
    key = (material, answer_tokens)
    found = _ANSWERS.get(key)
    if found is None:
        digest = _digest(material)
        text = " ".join(_sentences(prompt, digest))
        tokens = tokenize(text)
        if answer_tokens:
            tokens = _fit(tokens, answer_tokens, digest)
            text = "".join(tokens)
        found = (text, tuple(tokens))
        if len(material) <= _CACHED_MATERIAL_MAX:
            if len(_ANSWERS) >= _ANSWER_CACHE_SIZE:
                del _ANSWERS[next(iter(_ANSWERS))]
            _ANSWERS[key] = found
    return Answer(text=found[0], tokens=list(found[1]))


def follow_up_prompts(question: str, answer: str) -> list[str]:
    """Three follow-up questions about the question's key terms (the answer's when the question has none)."""
    _, bare = split_inlined_docs(question)
    terms: list[str] = []
    for source in (bare, answer):
        for word in words(source):
            if word not in _STOPWORDS and len(word) > 2 and not word.isdigit() and word not in terms:
                terms.append(word)
        if terms:
            break
    topic = " ".join(terms[:2]) if terms else "this"
    other = terms[2] if len(terms) > 2 else "everyday use"
    return [
        f"Can you tell me more about {topic}?",
        f"What are the key facts about {topic}?",
        f"How does {topic} relate to {other}?",
    ]
