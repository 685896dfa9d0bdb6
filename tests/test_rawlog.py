"""The raw event log: append + fsync, replay past a sequence, crash tails, retention by segment."""

from __future__ import annotations

import orjson
import pytest

from argusml.store import Store
from argusml.store.rawlog import RawLog

pytestmark = pytest.mark.service


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


def test_torn_tail_is_cut_and_whole_lines_kept(tmp_path):
    log = RawLog(tmp_path, segment_bytes=400)
    for first in range(1, 31, 3):
        log.append("m", first, [line(s) for s in range(first, first + 3)])
    log.close()
    newest = log.segments("m")[-1]
    with open(newest, "ab") as f:
        f.write(line(31)[:20])  # a crash mid-write
    assert [r[0] for c in RawLog(tmp_path).read_after("m", 28) for r in c] == [29, 30]  # the torn line is never read
    log = RawLog(tmp_path, segment_bytes=400)
    assert log.last_seq("m") == 30
    assert log.repair("m") is True and log.repair("m") is False
    assert newest.read_bytes().endswith(line(30))
    assert [r[0] for c in log.read_after("m", 0) for r in c] == list(range(1, 31))
    log.append("m", 31, [line(31)])
    assert [r[0] for c in log.read_after("m", 29) for r in c] == [30, 31] and log.last_seq("m") == 31
    assert log.truncate_after("m", 24) == 7  # (retention's and tests' cut: every line past 24)
    assert log.last_seq("m") == 24 and log.last_seq("nobody") == 0


def test_last_seq_reads_back_past_long_lines(tmp_path):
    log = RawLog(tmp_path)
    big = orjson.dumps([7, "v1", "id7", 1.8e9, 1.8e9, {"features": {"x": "y" * 20_000}}]) + b"\n"
    log.append("m", 6, [line(6), big])
    assert log.last_seq("m") == 7


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


def test_store_keeps_a_raw_tail_ahead_of_its_index_and_cuts_a_torn_line(tmp_path):
    store = Store(tmp_path)
    store.raw.append("m", 1, [line(1), line(2)])  # acknowledged; the process died before the index commit
    store.close()
    with open(RawLog(tmp_path / "events").segments("m")[-1], "ab") as f:
        f.write(line(3)[:10])
    store = Store(tmp_path)
    assert store.raw_events("m") == 2 and store.count_events("m") == 0
    assert store.last_seq() == 2  # new events must not reuse 1 and 2 (the monitor re-indexes them)
    store.close()


def test_encode_line_is_the_format_decode_line_and_the_log_read():
    """The writer's line and the reader's tuple are one format: a JSON array with the payload spliced in."""
    from argusml.store.rawlog import decode_line, encode_line

    payload = orjson.dumps({"features": {"x": 1.5, "c": "é"}, "prediction": 0.25, "backfill": True})
    enc = encode_line(42, "v2", "id-42", 1.8e9 + 0.125, 1.8e9 + 3.5, payload)
    assert enc == orjson.dumps([42, "v2", "id-42", 1.8e9 + 0.125, 1.8e9 + 3.5, orjson.loads(payload)]) + b"\n"
    assert decode_line(enc) == (42, "v2", "id-42", 1.8e9 + 0.125, 1.8e9 + 3.5,
                                {"features": {"x": 1.5, "c": "é"}, "prediction": 0.25, "backfill": True})
    assert decode_line(line(7)) == (7, "v1", "id7", 1.8e9 + 7, 1.8e9 + 7, {"features": {"x": 7}})
