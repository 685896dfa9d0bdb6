"""Drift of an LLM model's embeddings (query, response) between the baseline and a window.

Each embedding is one column of vectors, summarised on both sides as an ``EmbeddingProfile``, and tested
by ``embedding_drift_profiles``: the centroid over every row, the MMD on the bounded samples, the norms.
The alpha is split over the embeddings tested (Bonferroni), as a window's tests share one false-alarm
budget. A drift is a finding that names the events that moved most, by id, so the owner can read them.
"""

from __future__ import annotations

import zlib
from collections.abc import Callable
from typing import Any

from argusml.profile import DatasetProfile, Reference
from argusml.profile.embedding import embedding_drift_profiles
from argusml.schema import Finding, Severity

PERMUTATIONS = 200
"""Relabellings per window test: the smallest p-value, 1/201, is below 0.05/6 (two embeddings, three
tests each, Holm), and a window's two tests then cost well under a second on the 2-core machine."""
EXAMPLES = 5


def embedding_drift_check(reference: Reference, current: DatasetProfile, alpha: float, min_rows: int,
                          severity: Severity, ignored: Callable[[str], bool]) -> tuple[dict[str, Any], list[Finding]]:
    """Per embedding the baseline and the window both hold: its result (``status`` drifted, stable,
    insufficient_data or not_tested, with the tests' numbers) and the findings of those that drifted."""
    names = [n for n in reference.profile.embeddings if n in current.embeddings and not ignored(n)]
    out: dict[str, Any] = {}
    findings: list[Finding] = []
    for name in names:
        ref, cur = reference.profile.embeddings[name], current.embeddings[name]
        if ref.dim != cur.dim:
            out[name] = {"status": "not_tested", "reason": f"the window's vectors have {cur.dim} dimensions, the "
                                                           f"baseline's {ref.dim}: another embedding model"}
            continue
        if cur.n < min_rows or ref.n < 2:
            out[name] = {"status": "insufficient_data", "n_ref": ref.n, "n_cur": cur.n, "min_rows": min_rows}
            continue
        seed = zlib.crc32(f"{name}:{cur.n}:{','.join(cur.keys[:3]) if cur.keys else ''}".encode())
        d = embedding_drift_profiles(ref, cur, alpha=alpha / len(names), permutations=PERMUTATIONS, seed=seed,
                                     examples=EXAMPLES)
        result = {"status": "drifted" if d.drifted else "stable", **d.to_dict()}
        out[name] = result
        if d.drifted:
            findings.append(Finding("embedding_drift", name, severity, _message(name, result),
                                    {k: result[k] for k in ("drifted_by", "p_adjusted", "effects", "thresholds",
                                                            "moved_most", "n_ref", "n_cur")}))
    return out, findings


def _message(name: str, r: dict[str, Any]) -> str:
    parts = []
    by = r["drifted_by"]
    if "centroid" in by:
        parts.append(f"centroid moved {r['effects']['centroid']:.2f} spreads (p_adj {r['p_adjusted']['centroid']:.2g})")
    if "mmd" in by:
        parts.append(f"MMD² {r['mmd']['mmd2']:.3g} (p_adj {r['p_adjusted']['mmd']:.2g})")
    if "norms" in by:
        parts.append(f"norms KS {r['effects']['norms']:.3f} (p_adj {r['p_adjusted']['norms']:.2g})")
    moved = ", ".join(str(k) for k in r["moved_most"][:3])
    return f"{name!r} drifted: " + "; ".join(parts) + (f"; moved most: {moved}" if moved else "")
