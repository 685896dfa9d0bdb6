"""The store at fleet size: baselines outside DuckDB's checkpoint, and a store DuckDB invalidated is said
and stops the service instead of failing every statement silently.

500 models' reference baselines (~575 KB of JSON each) kept inline made every checkpoint pin them all:
at the service's 64 MB memory limit the checkpoint failed with a FatalException and DuckDB invalidated
the database, after which every thread logged the same error forever while /healthz said ok.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from pathlib import Path

import duckdb
import pytest

from argusml.monitor.metrics import LABEL_LAG_BUCKETS
from argusml.schema.model_config import ModelConfig
from argusml.service.server import watch_store
from argusml.store import Store
from service_util import Running, make_reference

BIG = "x" * 600_000  # a baseline's size, as text


def _invalidate(store: Store) -> None:
    """A real DuckDB fatal error: big strings inline, checkpointed at a 16 MB limit (as the baselines did)."""
    store.set_memory_limit("16MB")
    cur = store._cur()
    cur.execute("CREATE TABLE big(k VARCHAR PRIMARY KEY, v VARCHAR)")
    with pytest.raises(duckdb.FatalException):
        for i in range(80):
            cur.execute("INSERT OR REPLACE INTO big VALUES (?, ?)", [str(i), BIG])
            while i % 5 == 0:  # in a running monitor another thread's write may hold it off for a moment
                try:
                    cur.execute("CHECKPOINT")
                    break
                except duckdb.TransactionException:
                    time.sleep(0.01)


def test_baselines_live_in_profile_files_and_survive_checkpoints_at_a_small_memory_limit(tmp_path: Path) -> None:
    store = Store(tmp_path / "data", memory_limit="16MB")
    try:
        for i in range(80):  # the same text that invalidates the database inline (test below)
            store.save_baseline(f"m{i}", "", BIG + str(i), float(i))
            if i % 5 == 0:
                assert store.checkpoint()
        assert store.failure() is None
        stored = store._rows("SELECT max(strlen(baseline)) FROM baselines")[0][0]
        assert stored < 100  # a reference, not the text
        assert store.load_baselines("m7") == [("", BIG + "7")]
    finally:
        store.close()
    again = Store(tmp_path / "data", memory_limit="16MB")  # the start-up sweep keeps the files baselines use
    try:
        assert again.load_baselines("m79") == [("", BIG + "79")]
    finally:
        again.close()


def test_inline_baselines_of_an_older_store_move_to_files_at_open(tmp_path: Path) -> None:
    store = Store(tmp_path / "data")
    store._cur().execute("INSERT INTO baselines VALUES ('old', '', ?, 1.0), ('old', 'v2', ?, 1.0)",
                         ['{"inline": 1}' + " " * 300, '{"inline": 2}' + " " * 300])
    store.close()
    store = Store(tmp_path / "data")
    try:
        assert all(b.startswith("@") for (b,) in store._rows("SELECT baseline FROM baselines"))
        assert dict(store.load_baselines("old")) == {"": '{"inline": 1}' + " " * 300, "v2": '{"inline": 2}' + " " * 300}
    finally:
        store.close()


def test_failure_names_duckdb_s_fatal_error(tmp_path: Path) -> None:
    store = Store(tmp_path / "data")
    try:
        assert store.failure() is None
        _invalidate(store)
        failure = store.failure()
        assert failure is not None and failure.startswith("Failed to create checkpoint") and "pin block" in failure
    finally:
        store.close()


def test_an_invalidated_store_fails_liveness_readiness_and_stops_the_watch(
        running_monitor: Callable[..., Running], caplog: pytest.LogCaptureFixture) -> None:
    running = running_monitor((ModelConfig(model="m"), make_reference(500)))
    client = running.client
    assert client.get("/healthz").status_code == 200 and client.get("/readyz").status_code == 200
    called: list[str] = []
    fired = threading.Event()
    stop = watch_store(running.monitor, lambda reason: (called.append(reason), fired.set()), every=0.05)
    try:
        r = client.post("/v1/models/m/labels", json=[{"id": "e1", "label": 1}])
        assert r.status_code == 202
        _invalidate(running.store)
        assert fired.wait(5), "the watch did not see the failed store"
        assert len(called) == 1 and "pin block" in called[0]
        live = client.get("/healthz")
        assert live.status_code == 503 and live.json()["error"] == "store_failed"
        assert "restart the service" in live.json()["detail"]
        ready = client.get("/readyz")
        assert ready.status_code == 503 and "the store failed" in ready.json()["detail"]
        # the fold loop stops with one line instead of logging the same error at every tick
        deadline = time.monotonic() + 5
        fold = next(t for t in running.monitor._threads if "fold" in t.name)
        while fold.is_alive() and time.monotonic() < deadline:
            time.sleep(0.02)
        assert not fold.is_alive()
        stops = [r for r in caplog.records if r.levelname == "CRITICAL" and "fold thread stopped" in r.getMessage()]
        assert len(stops) == 1 and "pin block" in stops[0].getMessage()
    finally:
        stop.set()


def test_grouped_label_tallies_equal_each_model_s_own(running_monitor: Callable[..., Running]) -> None:
    running = running_monitor(*((ModelConfig(model=m), make_reference(500)) for m in ("a", "b", "c")))
    for m, n in (("a", 3), ("b", 1)):
        r = running.client.post(f"/v1/models/{m}/labels", json=[{"id": f"e{i}", "label": i % 2} for i in range(n)])
        assert r.status_code == 202, r.text
    everyone = running.store.label_tallies(None, LABEL_LAG_BUCKETS)
    for m in ("a", "b", "c"):
        own = running.store.label_tallies(m, LABEL_LAG_BUCKETS)[m]
        assert everyone.get(m, own) == own
    assert everyone["a"]["labels"] == 3 and everyone["b"]["labels"] == 1
    assert running.store.label_tallies("c", LABEL_LAG_BUCKETS)["c"]["labels"] == 0
