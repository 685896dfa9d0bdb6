"""Windows and findings: the closed windows with their verdicts and findings, the open ones' snapshot.

Profiles are not in the table: ``save_windows`` writes them to a profile
file first (``profiles.py``) and stores a reference; every read here gives
the text back, so callers never see a reference.
"""

from __future__ import annotations

import copy
import logging
import os
import time
from collections.abc import Sequence
from typing import Any

import pyarrow as pa

from argusml.store.connection import Connection
from argusml.store.profiles import ProfileFiles, is_reference
from argusml.store.tables import PERF_CHECKS, BackfilledRow, FindingRow, WindowRow

log = logging.getLogger("argus.store")


class WindowTables(Connection):
    """The windows and findings tables, and the profile files beside them."""

    def __init__(self, data_dir: str | os.PathLike[str], *, read_only: bool = False, memory_limit: str = "512MB") -> None:
        super().__init__(data_dir, read_only=read_only, memory_limit=memory_limit)
        self.profiles = ProfileFiles(os.path.join(os.fspath(data_dir), "profiles"))
        if not read_only:
            n = self.profiles.sweep(self._profile_files(), at_once=True)
            if n:
                log.info("profiles: deleted %d file(s) nothing points at (dropped, or written by a crashed save)", n)

    def load_open_windows(self) -> list[WindowRow]:
        rows = [WindowRow(*r) for r in self._rows("SELECT * FROM windows WHERE NOT closed")]
        for row, text in zip(rows, self.profiles.read([r.profile for r in rows])):
            row.profile = text
        return rows

    def _profile_files(self) -> list[str]:
        """The profile files some window or baseline points at."""
        return [r[0] for r in self._rows(
            "SELECT substr(profile, 2, strpos(profile, '#') - 2) FROM windows WHERE starts_with(profile, '@') "
            "UNION SELECT substr(baseline, 2, strpos(baseline, '#') - 2) FROM baselines "
            "WHERE starts_with(baseline, '@')")]

    def _written(self, rows: Sequence[WindowRow], also: Sequence[str] = ()) -> tuple[list[WindowRow], list[str]]:
        """Copies of ``rows`` whose profiles are written to one profile file, the copies holding references
        (a row already holding one is kept: a save retried after a failure), and the references of the
        texts ``also`` written into the same file."""
        todo = [i for i, r in enumerate(rows) if r.profile is not None and not is_reference(r.profile)]
        refs = self.profiles.put([rows[i].profile for i in todo] + list(also))  # type: ignore[misc]
        out = list(rows)
        for i, ref in zip(todo, refs):
            out[i] = copy.copy(rows[i])
            out[i].profile = ref
        return out, refs[len(todo):]

    def save_windows(self, closed: list[tuple[WindowRow, list[FindingRow]]],
                     snapshot: tuple[list[WindowRow], dict[str, str]] | None = None,
                     profiles: Sequence[tuple[str, str, str, float, float, str]] = ()) -> None:
        """Closed windows with their findings and, in the same transaction, the
        snapshot of the windows still open and the ``meta`` that goes with it
        (folded sequence, closing clock). One transaction, so a crash can
        neither lose a closed window nor replay its events into it twice.
        ``profiles`` replaces closed windows' stored profiles, (model, version,
        segment, granularity, start, profile): a roll-up slims the children it
        merged in the transaction that saves it.

        The profiles go to a profile file first (``profiles.py``), durable before the commit that points
        at it; the files this transaction stops pointing at are swept later."""
        written, slim_refs = self._written([row for row, _ in closed], [p for *_, p in profiles])
        closed = [(row, findings) for row, (_, findings) in zip(written, closed)]
        open_rows = self._written(snapshot[0])[0] if snapshot is not None else []
        with self.transaction() as cur:
            if profiles:
                cur.executemany("UPDATE windows SET profile = ? WHERE model = ? AND version = ? AND segment = ? "
                                "AND granularity = ? AND start_ts = ? AND closed",
                                [[p, m, v, s, g, t] for (m, v, s, g, t, _), p in zip(profiles, slim_refs)])
            backfilled = [row for row, _ in closed if isinstance(row, BackfilledRow)]
            if backfilled:
                self._make_room(cur, backfilled)
            for row, findings in closed:
                cur.execute("INSERT INTO windows VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)", row.values())
                if findings:
                    cur.executemany("INSERT INTO findings VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
                                    [f.values() for f in findings])
            if snapshot is not None:
                meta = snapshot[1]
                cur.execute("DELETE FROM windows WHERE NOT closed")
                if open_rows:
                    cur.executemany("INSERT INTO windows VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
                                    [r.values() for r in open_rows])
                for k, v in meta.items():
                    cur.execute("INSERT OR REPLACE INTO meta VALUES (?, ?)", [k, v])

    @staticmethod
    def _make_room(cur: Any, rows: list[BackfilledRow]) -> None:
        """Before backfilled windows are inserted: the rows they merged (and those rows' findings) go, and so
        do the roll-ups over their buckets at every coarser granularity with their findings, so the next
        roll-up pass computes them again from the children as they are now. The performance job's findings
        are its own (it revises them when predictions change) and stay. Set-wise (a backfill of a month
        closes thousands of windows at once), and before any insert: a merged row may carry the same
        ``closed_at`` as the row it replaces."""
        perf = ", ".join("?" * len(PERF_CHECKS))
        cur.register("_b", pa.table({"model": [r.model for r in rows], "version": [r.version for r in rows],
                                     "segment": [r.segment for r in rows], "g": [r.granularity for r in rows],
                                     "s": [r.start for r in rows],
                                     "replaces": pa.array([r.replaces for r in rows], pa.float64())}))
        same = "_b.model = {t}.model AND _b.version = {t}.version AND _b.segment = {t}.segment"
        try:
            cur.execute(f"""DELETE FROM windows WHERE closed AND EXISTS (SELECT 1 FROM _b WHERE {same.format(t="windows")}
                            AND _b.g = windows.granularity AND _b.s = windows.start_ts
                            AND _b.replaces = windows.closed_at)""")
            cur.execute(f"""DELETE FROM findings WHERE check_name NOT IN ({perf}) AND EXISTS (SELECT 1 FROM _b
                            WHERE {same.format(t="findings")} AND _b.replaces IS NOT NULL
                            AND _b.g = findings.granularity AND _b.s = findings.window_start)""", list(PERF_CHECKS))
            cur.execute(f"""DELETE FROM findings WHERE check_name NOT IN ({perf}) AND EXISTS (SELECT 1 FROM _b
                            WHERE {same.format(t="findings")} AND findings.granularity > _b.g
                            AND findings.window_start <= _b.s AND findings.window_end > _b.s)""", list(PERF_CHECKS))
            cur.execute(f"""DELETE FROM windows WHERE closed AND EXISTS (SELECT 1 FROM _b WHERE {same.format(t="windows")}
                            AND windows.granularity > _b.g AND windows.start_ts <= _b.s AND windows.end_ts > _b.s)""")
        finally:
            cur.unregister("_b")

    def bucket_windows(self, model: str, version: str, granularity: float, start: float
                       ) -> list[tuple[str, str | None, int, int, float]]:
        """(segment, profile, n_rows, late, closed_at) of the closed windows of one bucket, every segment."""
        rows = self._rows("SELECT segment, profile, n_rows, late, closed_at FROM windows WHERE model = ? AND "
                          "version = ? AND granularity = ? AND start_ts = ? AND closed ORDER BY closed_at",
                          [model, version, granularity, start])
        return self._with_texts(rows, 1)

    def _with_texts(self, rows: list[tuple[Any, ...]], col: int) -> list[tuple[Any, ...]]:
        """``rows`` with the stored profile in column ``col`` replaced by its text."""
        texts = self.profiles.read([r[col] for r in rows])
        return [(*r[:col], t, *r[col + 1:]) for r, t in zip(rows, texts)]

    def pending_rollups(self, model: str, child: float, granularity: float, closes_before: float
                        ) -> list[tuple[str, str, float]]:
        """(version, segment, start) of ``granularity`` buckets whose children are
        all due (the bucket ended before ``closes_before``) and that are not rolled up yet."""
        return self._rows("""
            SELECT DISTINCT version, segment, floor(start_ts / ?) * ? AS b FROM windows
            WHERE model = ? AND granularity = ? AND closed AND floor(start_ts / ?) * ? + ? <= ?
            EXCEPT SELECT version, segment, start_ts FROM windows WHERE model = ? AND granularity = ?
            ORDER BY 3, 1, 2""",
            [granularity, granularity, model, child, granularity, granularity, granularity, closes_before,
             model, granularity])

    def child_profiles(self, model: str, version: str, segment: str, child: float, start: float, end: float
                       ) -> list[tuple[str, int, int, float]]:
        """(profile, n_rows, late, start) of the closed windows of length ``child`` in [start, end)."""
        return self._with_texts(self._rows(
            "SELECT profile, n_rows, late, start_ts FROM windows WHERE model = ? AND version = ? AND segment = ? "
            "AND granularity = ? AND closed AND start_ts >= ? AND start_ts < ? ORDER BY start_ts",
            [model, version, segment, child, start, end]), 0)

    def windows(self, model: str, *, since: float | None = None, until: float | None = None,
                version: str | None = None, segment: str | None = None, granularity: float | None = None,
                closed: bool | None = None, limit: int = 100, with_profile: bool = False) -> list[dict[str, Any]]:
        where, params = self._filters(model, "start_ts", "end_ts", since, until, version, segment, granularity)
        if closed is not None:
            where.append("closed = ?")
            params.append(closed)
        cols = ("version, segment, granularity, start_ts, end_ts, closed, n_rows, late, verdict, closed_at"
                + (", profile" if with_profile else ""))
        rows = self._select("windows", cols, where, params, "start_ts DESC, granularity, version, segment", limit)
        if with_profile:
            for r, text in zip(rows, self.profiles.read([r["profile"] for r in rows])):
                r["profile"] = text
        return rows

    def findings(self, model: str, *, since: float | None = None, until: float | None = None,
                 version: str | None = None, segment: str | None = None, granularity: float | None = None,
                 severity: str | None = None, linked: bool = True, limit: int = 100) -> list[dict[str, Any]]:
        """Findings, newest window first. ``linked=False`` leaves out those that repeat a parent's (a
        segment's or roll-up's restatement of the same check on the same column) and counts, per finding
        listed, the repeats that point at it (``repeated``)."""
        where, params = self._filters(model, "window_start", "window_end", since, until, version, segment, granularity)
        if severity is not None:
            where.append("severity = ?")
            params.append(severity)
        cols = ("version, segment, granularity, window_start, window_end, check_name, column_name, severity, "
                "message, evidence, created_at, parent_segment, parent_granularity, parent_start")
        if linked:
            return self._select("findings", cols, where, params, "window_start DESC, severity, check_name", limit)
        where.append("parent_segment IS NULL")
        rows = self._select("findings", cols, where, params, "window_start DESC, severity, check_name", limit)
        if rows:
            counts = self._rows(
                "SELECT version, check_name, column_name, parent_segment, parent_granularity, parent_start, count(*) "
                "FROM findings WHERE model = ? AND parent_segment IS NOT NULL AND parent_start >= ? "
                "AND parent_start <= ? GROUP BY ALL",
                [model, min(r["window_start"] for r in rows), max(r["window_start"] for r in rows)])
            n = {tuple(c[:6]): c[6] for c in counts}
            for r in rows:
                r["repeated"] = n.get((r["version"], r["check_name"], r["column_name"], r["segment"],
                                       r["granularity"], r["window_start"]), 0)
        return rows

    def child_findings(self, model: str, version: str, segment: str, child: float, start: float, end: float
                       ) -> list[FindingRow]:
        """The findings of the closed windows of length ``child`` in [start, end), oldest first: what a
        roll-up's findings may repeat."""
        rows = self._rows("SELECT * FROM findings WHERE model = ? AND version = ? AND segment = ? AND granularity = ? "
                          "AND window_start >= ? AND window_start < ? ORDER BY window_start",
                          [model, version, segment, child, start, end])
        return [FindingRow(*r) for r in rows]

    def first_windows(self, model: str, granularity: float) -> dict[str, float]:
        """Per version, the start of its first window of ``granularity`` (open or closed): when it began serving."""
        return dict(self._rows("SELECT version, min(start_ts) FROM windows WHERE model = ? AND granularity = ? "
                               "GROUP BY version", [model, granularity]))

    def latest_closed(self, model: str, granularity: float) -> list[dict[str, Any]]:
        """The newest closed window of ``granularity`` per (version, segment)."""
        rows = self._rows("""SELECT version, segment, start_ts, end_ts, n_rows, verdict FROM windows w
            WHERE model = ? AND granularity = ? AND closed AND start_ts = (SELECT max(start_ts) FROM windows
                WHERE model = w.model AND version = w.version AND segment = w.segment AND granularity = w.granularity
                AND closed) ORDER BY version, segment""", [model, granularity])
        return [dict(zip(("version", "segment", "start_ts", "end_ts", "n_rows", "verdict"), r)) for r in rows]

    def checkpoint(self) -> bool:
        """The database's checkpoint (``Connection.checkpoint``), then the sweep of profile files nothing
        points at any more (``ProfileFiles.sweep``): the fold loop calls this every few seconds."""
        if not super().checkpoint():
            return False
        self.profiles.sweep(self._profile_files(), now=time.monotonic())
        return True
