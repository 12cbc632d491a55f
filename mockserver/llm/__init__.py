"""The deterministic fake LLM: answers, memory, retrieval, embedding and chunking, with no model or key.

Each module is one concept; import from the module (``mockserver.llm.embedding.embed``).
"""
