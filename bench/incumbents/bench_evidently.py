#!/usr/bin/env python
# Copied verbatim from the drift-benchmark anchors: /work/shared/anchors/bench_evidently.py
# (sha256 2f9bf01db805e441...). Only these header lines were added, so the measurement
# semantics (and numbers) stay comparable to the anchors' RESULTS.md; bench/run_bench.py
# runs it with the incumbent's own venv (bench/setup_venvs.sh) and --data DIR.
# ruff: noqa: I001
"""Evidently: Report([DataDriftPreset()]) with all defaults, run + dict + save_json.

The two pandas frames are passed as they are; Evidently infers the column
types itself (checked below against the manifest: 21 numerical = 20 numeric
features + prediction, 6 categorical = 5 categorical features + target).
With > 1000 reference rows its defaults pick, per column, the normed
Wasserstein distance (numerical, > 5 unique values; threshold 0.1) or the
Jensen-Shannon distance (categorical and numerical with <= 5 values;
threshold 0.1); a column is drifted when score >= threshold.

Timed (compute_s): Report.run(current, reference) + Snapshot.dict()
+ Snapshot.save_json(<file under /tmp/benchout>).
"""
import os
import time

import common

import evidently
from evidently import Dataset, Report
from evidently.presets import DataDriftPreset

P_VALUE_WORDS = ("p_value", "p-value")


def main() -> None:
    a = common.args(__doc__)
    ref, cur, man, load_s = common.load(a)
    save = a.save or f"/tmp/benchout/evidently_n{a.n}.json"
    os.makedirs(os.path.dirname(save), exist_ok=True)

    t0 = time.perf_counter()
    snap = Report([DataDriftPreset()]).run(cur, ref)
    t1 = time.perf_counter()
    d = snap.dict()
    t2 = time.perf_counter()
    snap.save_json(save)
    t3 = time.perf_counter()

    flagged, scores, methods = [], {}, {}
    drifted_count = None
    for m in d["metrics"]:
        cfg = m["config"]
        if cfg["type"].endswith("DriftedColumnsCount"):
            drifted_count = m["value"]["count"]
            continue
        col, value, thr, method = cfg["column"], m["value"], cfg["threshold"], cfg["method"]
        scores[col] = round(float(value), 5)
        methods[col] = method
        is_p = any(w in method for w in P_VALUE_WORDS)
        if (value < thr) if is_p else (value >= thr):
            flagged.append(col)
    assert drifted_count is None or int(drifted_count) == len(flagged), (drifted_count, flagged)

    # which types Evidently inferred (not timed; informative only)
    dd = Dataset.from_pandas(ref.head(1000)).data_definition
    inferred = {"numerical": dd.numerical_columns, "categorical": dd.categorical_columns}
    common.result(
        "evidently", evidently.__version__, a.n, t3 - t0, flagged, man, load_s,
        phases={"report_run": t1 - t0, "dict": t2 - t1, "save_json": t3 - t2},
        decision="DataDriftPreset defaults (score >= 0.1 for distances)",
        methods=sorted(set(methods.values())),
        scores=scores,
        inferred_types_match_manifest=(
            sorted(inferred["numerical"]) == sorted(man["numeric"] + ["prediction"])
            and sorted(inferred["categorical"]) == sorted(man["categorical"] + ["target"])),
        json_bytes=os.path.getsize(save),
    )


if __name__ == "__main__":
    main()
