"""A store keeps working however many window profiles it holds, and its profile files follow its rows.

Profiles once lived in a DuckDB column. DuckDB rewrites a table's partly
filled row group at every checkpoint and must hold its strings in memory to
do so: past the memory limit (``argus serve`` runs at 64 MB, about 370
windows of 150 KB) the checkpoint failed and the database was invalidated.
They now live in files beside the database (``store/profiles.py``); these
tests hold that design to its protocol: every reader sees the text, a file
goes once nothing points at it, and never before.
"""

from __future__ import annotations

import json
import os
import random

import pytest

from argusml.schema import InputError
from argusml.store import Store, WindowRow

pytestmark = pytest.mark.service

LIMIT = "16MB"


def _profile(rnd: random.Random, size: int = 220) -> str:
    return json.dumps({"reference": "x", "profile": [[rnd.random() for _ in range(40)] for _ in range(size)]})


def _row(b: int, profile: str | None, *, closed: bool = True, segment: str = "*", g: float = 300.0) -> WindowRow:
    return WindowRow("m", "v", segment, g, b * g, b * g + g, closed, 300, 0, profile, "{}", 0.0 if closed else None)


def _files(tmp_path) -> set[str]:
    d = tmp_path / "data" / "profiles"
    return {p.name for p in d.iterdir()} if d.is_dir() else set()


def test_profiles_beyond_the_memory_limit_still_checkpoint(tmp_path) -> None:
    """The failure as it was: 200 windows, ~30 MB of profile text, twice a 16 MB limit, checkpointed every 10."""
    rnd = random.Random(0)
    store = Store(tmp_path / "data", memory_limit=LIMIT)
    n = 200
    last = ""
    for b in range(n):
        last = _profile(rnd)
        store.save_windows([(_row(b, last), [])], ([], {"through": str(b)}))
        if b % 10 == 9:
            assert store.checkpoint()
    assert len(store.windows("m", granularity=300.0, limit=10_000)) == n
    store.close()
    store = Store(tmp_path / "data", memory_limit=LIMIT)
    newest = store.windows("m", granularity=300.0, limit=1, with_profile=True)[0]
    assert newest["start_ts"] == (n - 1) * 300.0 and newest["profile"] == last
    assert store.get_meta("through") == str(n - 1)
    store.close()


def test_every_reader_gets_the_text_back(tmp_path) -> None:
    rnd = random.Random(1)
    store = Store(tmp_path / "data")
    texts = [_profile(rnd, 5) for _ in range(4)]
    closed = [(_row(b, texts[b]), []) for b in range(3)] + [(_row(3, None), [])]  # a roll-up not checked: none
    open_text = _profile(rnd, 3)
    store.save_windows(closed, ([_row(4, open_text, closed=False)], {}))
    assert [r[0] for r in store.child_profiles("m", "v", "*", 300.0, 0.0, 900.0)] == texts[:3]
    assert store.bucket_windows("m", "v", 300.0, 300.0)[0][1] == texts[1]
    listed = {r["start_ts"]: r["profile"] for r in store.windows("m", limit=10, with_profile=True)}
    assert listed == {0.0: texts[0], 300.0: texts[1], 600.0: texts[2], 900.0: None, 1200.0: open_text}
    (opened,) = store.load_open_windows()
    assert opened.profile == open_text and opened.start == 1200.0
    # the table holds references, not the text
    stored = store._rows("SELECT profile FROM windows WHERE profile IS NOT NULL")
    assert all(s.startswith("@") and len(s) < 100 for (s,) in stored)
    store.close()


def test_a_file_goes_once_nothing_points_at_it_and_not_before(tmp_path) -> None:
    rnd = random.Random(2)
    store = Store(tmp_path / "data")
    store.save_windows([(_row(0, _profile(rnd, 5)), [])], ([_row(1, _profile(rnd, 5), closed=False)], {}))
    first = _files(tmp_path)
    assert len(first) == 2  # the closed window's file and the snapshot's
    # a newer snapshot and a slimmed profile leave both files unreferenced ...
    slim = _profile(rnd, 2)
    store.save_windows([], ([_row(1, _profile(rnd, 5), closed=False)], {}),
                       profiles=[("m", "v", "*", 300.0, 0.0, slim)])
    assert len(_files(tmp_path)) == 4
    # ... but a reader may still hold their references: the first sweep only notes them, a later one deletes
    t0 = 1000.0
    assert store.profiles.sweep(store._profile_files(), now=t0) == 0
    assert store.profiles.sweep(store._profile_files(), now=t0 + store.profiles.grace - 1) == 0
    assert store.profiles.sweep(store._profile_files(), now=t0 + store.profiles.grace) == 2
    assert not (_files(tmp_path) & first)
    assert store.child_profiles("m", "v", "*", 300.0, 0.0, 300.0)[0][0] == slim
    # retention: the closed window goes, and with it its file
    store.delete_older("m", raw_events=0, predictions=0, labels=0, profiles=1e9)
    assert store.windows("m", closed=True) == []
    store.profiles.sweep(store._profile_files(), at_once=True)
    assert len(_files(tmp_path)) == 1  # the open snapshot's
    store.close()


def test_a_file_written_by_a_crashed_save_is_deleted_at_start_up(tmp_path) -> None:
    store = Store(tmp_path / "data")
    text = _profile(random.Random(3), 5)
    store.save_windows([(_row(0, text), [])])
    kept = _files(tmp_path)
    store.profiles.put(["a save that crashed before its commit"])  # written, never referenced
    assert len(_files(tmp_path)) == 2
    store.close()
    store = Store(tmp_path / "data")
    assert _files(tmp_path) == kept
    assert store.child_profiles("m", "v", "*", 300.0, 0.0, 300.0)[0][0] == text
    store.close()


def test_an_inline_profile_from_an_older_store_reads_as_itself(tmp_path) -> None:
    store = Store(tmp_path / "data")
    text = _profile(random.Random(4), 3)
    store._cur().execute("INSERT INTO windows VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)", _row(0, text).values())
    assert store.child_profiles("m", "v", "*", 300.0, 0.0, 300.0)[0][0] == text
    store.close()
    store = Store(tmp_path / "data")  # the start-up sweep leaves inline rows alone
    assert store.windows("m", with_profile=True)[0]["profile"] == text
    store.close()


def test_a_missing_profile_file_is_named(tmp_path) -> None:
    store = Store(tmp_path / "data")
    store.save_windows([(_row(0, _profile(random.Random(5), 3)), [])])
    (name,) = _files(tmp_path)
    os.remove(tmp_path / "data" / "profiles" / name)
    with pytest.raises(InputError, match="profile's file is missing") as err:
        store.child_profiles("m", "v", "*", 300.0, 0.0, 300.0)
    assert name in str(err.value)
    store.close()
