#!/usr/bin/env python
# ruff: noqa: I001
"""Evidently on the RAG traffic of bench/rag_traffic.py: text descriptors, column drift, embeddings drift.

    /tmp/venvs/evidently/bin/python bench/incumbents/bench_evidently_rag.py --data /tmp/ragdata [--out FILE]

Runs in Evidently's own venv (bench/setup_venvs.sh evidently: evidently
0.7.23 as pinned in the anchors). For every current period against the
reference, from the same raw frames each time (so each period pays for the
reference's descriptors, as an Argus report pays for the reference's
profile):

1. ``Dataset.from_pandas`` with the text columns ``query`` and ``response``
   and these descriptors, all computed locally with no download:
   ``TextLength``, ``WordCount``, ``SentenceCount``,
   ``NonLetterCharacterPercentage`` on both texts, and ``RegExp`` for a
   citation ``[d123]`` in the response. Left out because they fetch data
   or models at run time, which this machine cannot (and a monitor should
   not need to): ``Sentiment`` (NLTK's VADER lexicon), ``OOVWordsPercentage``
   (NLTK ``words`` and ``wordnet``), ``IncludesWords``/``ExcludesWords``/
   ``WordMatch``/``WordNoMatch`` (``wordnet`` for lemmatising),
   ``SemanticSimilarity``/``BERTScore``/``HuggingFace*`` (model hub) and the
   ``*LLMEval``/``LLMJudge``/``OpenAI`` ones (an LLM API). ``--check-nltk``
   tries Sentiment and OOV once and records what happened.
2. ``DataDriftPreset`` over the derived numeric columns (the ones Argus's
   report gets) plus the descriptor columns, all defaults: with more than
   1,000 reference rows that is the normed Wasserstein distance (threshold
   0.1) for numerical columns with more than 5 values and Jensen-Shannon
   (0.1) for the rest; "dataset drift" when at least half the columns drift.
3. Embeddings drift on the same query and response matrices Argus gets
   (384 columns each, declared as ``embeddings`` in the data definition),
   with Evidently's default method, the one ``EmbeddingsDrift`` picks:
   ``model(bootstrap=len(reference) < 1000)``, an SGD logistic classifier
   told to tell reference from current rows on half of them, drift when its
   ROC AUC on the other half exceeds 0.55 (no bootstrap with 1,000 or more
   reference rows). ``DataDriftPreset(embeddings=...)`` stores the list but
   adds no embeddings metric in 0.7.23, so the metric is asked for itself.

The ``EmbeddingsDrift`` metric always runs a t-SNE of up to 5,000 rows a
side for its plot after the decision (legacy/metrics/data_drift/
embeddings_drift.py). It is part of what Evidently computes, so it is run
and timed in every period (``--embeddings method`` calls only the drift
method on the same frames, for a quick look; the two scores are equal).
The t-SNE is multi-threaded and slows down badly on a busy machine: 8 s an
embedding at load average 3 on 2 cores, 150 s while 2 embedding threads ran
beside it.

Timed per period: building both datasets (descriptors included) +
Report.run + Snapshot.dict() for the column drift, plus the two
EmbeddingsDrift reports. Prints one JSON document.
"""
import argparse
import json
import os
import time

import numpy as np
import pandas as pd

import evidently
from evidently import DataDefinition, Dataset, Report
from evidently.descriptors import NonLetterCharacterPercentage, RegExp, SentenceCount, TextLength, WordCount
from evidently.legacy.metrics.data_drift.embedding_drift_methods import model
from evidently.metrics import EmbeddingsDrift
from evidently.presets import DataDriftPreset

TEXTS = ("query", "response")
EMB = {"query": "query_emb", "response": "response_emb"}
P_VALUE_WORDS = ("p_value", "p-value")


def descriptors() -> list:
    out = []
    for t in TEXTS:
        out += [TextLength(t, alias=f"{t}: text length"), WordCount(t, alias=f"{t}: word count"),
                SentenceCount(t, alias=f"{t}: sentence count"),
                NonLetterCharacterPercentage(t, alias=f"{t}: non-letter %")]
    out.append(RegExp("response", reg_exp=r"\[d\d+\]", alias="response: cites a document"))
    return out


def frame(data: str, period: str) -> tuple[pd.DataFrame, list[str], dict[str, list[str]]]:
    d = os.path.join(data, period)
    derived = pd.read_parquet(os.path.join(d, "derived.parquet"))
    texts = pd.read_parquet(os.path.join(d, "texts.parquet"))
    parts = [derived, texts[list(TEXTS)]]
    emb_cols: dict[str, list[str]] = {}
    for t, name in EMB.items():
        m = np.load(os.path.join(d, f"{name}.npy"))
        cols = [f"{t}_e{i}" for i in range(m.shape[1])]
        parts.append(pd.DataFrame(m, columns=cols))
        emb_cols[name] = cols
    return pd.concat(parts, axis=1), list(derived.columns), emb_cols


def check_nltk() -> dict:
    """Whether the NLTK-backed descriptors work here (they download corpora on first use)."""
    from evidently.descriptors import OOVWordsPercentage, Sentiment

    df = pd.DataFrame({"response": ["The parcel was delayed and I am unhappy.", "Thanks, that fixed it."]})
    out = {}
    for name, d in (("Sentiment", Sentiment("response", alias="s")), ("OOVWordsPercentage",
                                                                     OOVWordsPercentage("response", alias="o"))):
        try:
            Dataset.from_pandas(df, data_definition=DataDefinition(text_columns=["response"]), descriptors=[d])
            out[name] = "ran"
        except Exception as e:  # what the missing corpus raises differs by descriptor; record it
            lines = [ln.strip() for ln in str(e).splitlines() if "Resource" in ln] or [str(e).strip()[:160]]
            out[name] = f"failed: {type(e).__name__}: {lines[0]}"
    return out


def embedding_decisions(ref: pd.DataFrame, cur: pd.DataFrame, emb_cols: dict[str, list[str]]) -> dict:
    """EmbeddingsDrift's decision without its plot: the default method on the same column frames."""
    method = model(bootstrap=ref.shape[0] < 1000)
    out = {}
    for name, cols in emb_cols.items():
        # the method adds a target column to what it is given: hand it copies, as the metric's slicing does
        score, drifted, method_name = method(cur[cols].copy(), ref[cols].copy())
        out[name] = {"roc_auc": round(float(score), 4), "threshold": method.threshold, "drifted": bool(drifted),
                     "method": f"{method_name} (default; bootstrap={method.bootstrap})"}
    return out


def full_metric(ref: pd.DataFrame, cur: pd.DataFrame, emb_cols: dict[str, list[str]]) -> dict:
    """The whole EmbeddingsDrift metric per embedding (its t-SNE included). Its value is the drift score;
    the decision is the default method's, whose threshold is read from the same ``model(...)`` call."""
    method = model(bootstrap=ref.shape[0] < 1000)
    if method.bootstrap:
        raise SystemExit("fewer than 1,000 reference rows: the default method bootstraps its threshold, "
                         "which the metric's value does not carry; use --embeddings method")
    out = {}
    for name, cols in emb_cols.items():
        definition = DataDefinition(embeddings={name: cols})
        t0 = time.perf_counter()
        snap = Report([EmbeddingsDrift(embeddings_name=name)]).run(
            Dataset.from_pandas(cur[cols], data_definition=definition),
            Dataset.from_pandas(ref[cols], data_definition=definition))
        score = float(snap.dict()["metrics"][0]["value"])
        out[name] = {"roc_auc": round(score, 4), "threshold": method.threshold, "drifted": score > method.threshold,
                     "method": "model (default; bootstrap=False)", "seconds": round(time.perf_counter() - t0, 2)}
    return out


def run_period(ref: pd.DataFrame, cur: pd.DataFrame, numeric: list[str], emb_cols: dict[str, list[str]],
               embeddings: str) -> dict:
    t0 = time.perf_counter()
    definition = DataDefinition(text_columns=list(TEXTS), numerical_columns=numeric)
    ref_ds = Dataset.from_pandas(ref[numeric + list(TEXTS)], data_definition=definition, descriptors=descriptors())
    cur_ds = Dataset.from_pandas(cur[numeric + list(TEXTS)], data_definition=definition, descriptors=descriptors())
    t1 = time.perf_counter()
    desc_cols = [d.alias for d in descriptors()]
    preset = DataDriftPreset(columns=numeric + desc_cols)
    snap = Report([preset]).run(cur_ds, ref_ds)
    d = snap.dict()
    t2 = time.perf_counter()
    emb = full_metric(ref, cur, emb_cols) if embeddings == "metric" else embedding_decisions(ref, cur, emb_cols)
    t3 = time.perf_counter()
    flagged, scores, methods = [], {}, {}
    share = None
    for m in d["metrics"]:
        cfg = m["config"]
        if cfg["type"].endswith("DriftedColumnsCount"):
            share = float(m["value"]["share"])
            continue
        if "column" not in cfg or "threshold" not in cfg:
            continue
        col, value, thr, method = cfg["column"], float(m["value"]), cfg["threshold"], cfg["method"]
        scores[col] = round(value, 5)
        methods[col] = method
        is_p = any(w in method for w in P_VALUE_WORDS)
        if (value < thr) if is_p else (value >= thr):
            flagged.append(col)
    return {"flagged_columns": sorted(flagged), "embeddings": emb, "drifted_share": share,
            "dataset_drift": share is not None and share >= preset.drift_share,
            "caught": bool(flagged) or any(e["drifted"] for e in emb.values()),
            "scores": scores, "methods": sorted(set(methods.values())),
            "seconds": round(t3 - t0, 3), "phases_s": {"datasets_and_descriptors": round(t1 - t0, 3),
                                                        "report_run_and_dict": round(t2 - t1, 3),
                                                        "embedding_drift": round(t3 - t2, 3)}}


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--data", default="/tmp/ragdata")
    ap.add_argument("--out", default=None, help="also write the JSON here")
    ap.add_argument("--check-nltk", action="store_true", help="try the NLTK-backed descriptors once and record it")
    ap.add_argument("--embeddings", choices=("metric", "method"), default="metric",
                    help="metric: the whole EmbeddingsDrift report (t-SNE included); method: its drift method only")
    a = ap.parse_args()
    with open(os.path.join(a.data, "manifest.json")) as f:
        manifest = json.load(f)
    ref, numeric, emb_cols = frame(a.data, "reference")
    out: dict = {"library": "evidently", "version": evidently.__version__, "embeddings_via": a.embeddings,
                 "descriptors": [d.alias for d in descriptors()], "periods": {}}
    if a.check_nltk:
        t0 = time.perf_counter()
        out["nltk_descriptors"] = check_nltk()
        out["nltk_check_s"] = round(time.perf_counter() - t0, 1)
    for p in manifest["periods"]:
        if p["name"] == "reference":
            continue
        cur, _, _ = frame(a.data, p["name"])
        out["periods"][p["name"]] = run_period(ref, cur, numeric, emb_cols, a.embeddings)
    text = json.dumps(out, default=str)
    if a.out:
        with open(a.out, "w") as f:
            f.write(text)
    print(text)


if __name__ == "__main__":
    main()
