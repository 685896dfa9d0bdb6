#!/usr/bin/env python
"""PII scanning throughput on one core: how many events/s the ``privacy.pii`` rule can scan and redact.

    PYTHONPATH=src .venv/bin/python bench/pii_scan.py [--events 20000] [--repeat 3]

Each event has one free-text field (a sentence from tests/pii_corpus.py, the corpus the precision and
recall are measured on: about 55% of them hold PII, the rest are look-alikes and hard negatives full of
digits) and, for the "no PII" rows, plain prose without digits, ``@`` or capitalised pairs, the text
most comment fields hold. Timed: ``Redactor`` on a record, as the ingest path calls it, with ``mask``
(the scan plus the rewrite) and ``find_pii`` alone; the best of ``--repeat`` runs, in one process
(one core).
"""

from __future__ import annotations

import argparse
import os
import random
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent / "tests"))

from argusml.monitor.events import EventRecord
from argusml.monitor.privacy import Redactor
from argusml.privacy.pii import find_pii
from argusml.schema.model_config import PrivacyRules
from benchenv import best_rate
from pii_corpus import corpus

PROSE = ["the delivery was late again and nobody answered", "great product, works as described",
         "please cancel my subscription, it is too expensive", "app crashes when i open the settings page",
         "could you send me the invoice for last month", "colour is different from the photo on the website"]


def texts(kind: str, n: int) -> list[str]:
    if kind == "corpus":
        return [s.text for s in corpus(n, seed=1)]
    rng = random.Random(2)
    return [f"{rng.choice(PROSE)}; {rng.choice(PROSE)}" for _ in range(n)]



def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--events", type=int, default=20000)
    ap.add_argument("--repeat", type=int, default=3)
    args = ap.parse_args()
    redact = Redactor(PrivacyRules(pii={"fields": "strings", "action": "mask"}), "bench")
    print(f"PII scan, one core ({os.cpu_count()} cores on the machine), {args.events} events, best of {args.repeat}")
    print(f"{'text':<10} {'avg chars':>9} {'find_pii ev/s':>14} {'MB/s':>6} {'Redactor mask ev/s':>19} {'MB/s':>6}")
    for kind in ("corpus", "no-pii"):
        ts = texts(kind, args.events)
        mb = sum(len(t.encode()) for t in ts) / 1e6 / len(ts)
        records = [EventRecord(str(i), "v", 0.0, {"note": t, "x": 1.0}, 0.5, None, None, None) for i, t in enumerate(ts)]
        scan = best_rate(find_pii, ts, args.repeat)

        def one(r: EventRecord) -> None:
            saved = r.features
            redact(r)
            r.features = saved  # the next repeat scans the original again

        full = best_rate(one, records, args.repeat)
        print(f"{kind:<10} {mb * 1e6:>9.0f} {scan:>14,.0f} {scan * mb:>6.1f} {full:>19,.0f} {full * mb:>6.1f}")


if __name__ == "__main__":
    main()
