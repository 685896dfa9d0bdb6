"""The raw event log: append + fsync, replay past a sequence, crash tails, retention by segment."""

from __future__ import annotations

import orjson

from argusml.store import Store
from argusml.store.rawlog import RawLog


def line(seq: int) -> bytes:
    return orjson.dumps([seq, "v1", f"id{seq}", 1.8e9 + seq, 1.8e9 + seq, {"features": {"x": seq}}]) + b"\n"


def test_append_read_after_across_segments(tmp_path):
    log = RawLog(tmp_path, segment_bytes=400)  # a few lines per segment
    for first in range(1, 60, 3):
        log.append("m", first, [line(s) for s in range(first, first + 3)])
    assert len(log.segments("m")) > 3
    got = [r[0] for chunk in log.read_after("m", 17, chunk=7) for r in chunk]
    assert got == list(range(18, 61))
    assert log.count("m") == 60 and log.read_after("other", 0) is not None


def test_torn_tail_and_unacknowledged_lines_are_cut(tmp_path):
    log = RawLog(tmp_path, segment_bytes=400)
    for first in range(1, 31, 3):
        log.append("m", first, [line(s) for s in range(first, first + 3)])
    log.close()
    newest = log.segments("m")[-1]
    with open(newest, "ab") as f:
        f.write(line(31)[:20])  # a crash mid-write
    assert [r[0] for c in RawLog(tmp_path).read_after("m", 28) for r in c] == [29, 30]  # the torn line is never read
    log = RawLog(tmp_path, segment_bytes=400)
    assert log.truncate_after("m", 24) == 6  # 25..30 were written but their index never committed
    assert [r[0] for c in log.read_after("m", 0) for r in c] == list(range(1, 25))
    log.append("m", 25, [line(25)])
    assert [r[0] for c in log.read_after("m", 23) for r in c] == [24, 25]


def test_drop_removes_only_whole_old_segments(tmp_path):
    log = RawLog(tmp_path, segment_bytes=400)
    for first in range(1, 31, 3):
        log.append("m", first, [line(s) for s in range(first, first + 3)])
    before = log.segments("m")
    freed = log.drop("m", through_seq=10, newest_seq=30)
    after = log.segments("m")
    assert freed > 0 and len(after) < len(before)
    assert min(r[0] for c in log.read_after("m", 0) for r in c) <= 11  # nothing newer than 10 went
    assert log.drop("m", through_seq=30, newest_seq=30) > 0 and log.segments("m") == []


def test_store_cuts_a_raw_tail_whose_index_never_committed(tmp_path):
    store = Store(tmp_path)
    store.raw.append("m", 1, [line(1), line(2)])  # as if the process died before the DuckDB commit
    store.close()
    store = Store(tmp_path)
    assert store.raw_events("m") == 0
    store.close()
