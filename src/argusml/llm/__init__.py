"""LLM and RAG monitoring: turning texts into the vectors the embedding drift test reads.

Embeddings that arrive in events are used as they are; texts are embedded by
an :class:`~argusml.llm.embed.Embedder`, the offline default or any function
the user supplies.
"""

from argusml.llm.embed import (
    DEFAULT_MODEL,
    Embedder,
    FunctionEmbedder,
    MiniLMOnnxEmbedder,
    as_embedder,
    default_embedder,
)

__all__ = ["DEFAULT_MODEL", "Embedder", "FunctionEmbedder", "MiniLMOnnxEmbedder", "as_embedder", "default_embedder"]
