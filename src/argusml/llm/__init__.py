"""LLM and RAG monitoring: turning texts into the vectors the embedding drift test reads, and judging
answers.

Embeddings that arrive in events are used as they are; texts are embedded by
an :class:`~argusml.llm.embed.Embedder`, the offline default or any function
the user supplies. A sample of answers is scored by a :class:`~argusml.llm.judge.Judge` (the offline
lexical default, an LLM on a rubric, or any function) into mergeable windows.
"""

from argusml.llm.embed import (
    DEFAULT_MODEL,
    Embedder,
    FunctionEmbedder,
    MiniLMOnnxEmbedder,
    as_embedder,
    default_embedder,
)
from argusml.llm.judge import (
    FunctionJudge,
    Judge,
    JudgeComparison,
    JudgeError,
    JudgeWindow,
    LexicalJudge,
    LLMJudge,
    Sampler,
    Verdict,
    as_judge,
    default_judge,
    judge_events,
)

__all__ = [
    "DEFAULT_MODEL",
    "Embedder",
    "FunctionEmbedder",
    "FunctionJudge",
    "Judge",
    "JudgeComparison",
    "JudgeError",
    "JudgeWindow",
    "LLMJudge",
    "LexicalJudge",
    "MiniLMOnnxEmbedder",
    "Sampler",
    "Verdict",
    "as_embedder",
    "as_judge",
    "default_embedder",
    "default_judge",
    "judge_events",
]
