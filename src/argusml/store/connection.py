"""One DuckDB database file: the connection, a cursor per thread, transactions, and the generic reads.

DuckDB connections are not to be shared between threads; each thread gets
its own cursor of the one database (``_cur``). Only one process may open
the file read-write (DuckDB locks it), as the architecture wants: only the
server opens its store. A commit here is durable: DuckDB writes and fsyncs
its WAL before ``COMMIT`` returns.
"""

from __future__ import annotations

import os
import threading
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from typing import Any

from argusml.schema import InputError
from argusml.store.tables import DDL, SCHEMA_VERSION, memory_size


class Connection:
    """The database under a data directory; ``Store`` adds what is kept in it."""

    def __init__(self, data_dir: str | os.PathLike[str], *, read_only: bool = False, memory_limit: str = "512MB") -> None:
        import duckdb

        os.makedirs(data_dir, exist_ok=True)
        self.path = os.path.join(os.fspath(data_dir), "argus.duckdb")
        try:
            # DuckDB checkpoints inside the commit that crosses its WAL threshold (16 MB by default),
            # stalling that writer under load (docs/BENCHMARKS.md); the monitor checkpoints
            # on its own cadence instead, and 128 MB bounds the WAL (and the replay after a crash)
            self._con = duckdb.connect(self.path, read_only=read_only,
                                       config={"memory_limit": memory_limit, "threads": 2,
                                               **({} if read_only else {"checkpoint_threshold": "128MB"})})
        except duckdb.IOException as exc:
            msg = str(exc)
            if "lock" in msg.lower():
                raise InputError("the store is open in another process (is another `argus serve` running on this "
                                 "--data directory?)", path=self.path) from None
            raise InputError(f"cannot open the store: {msg}", path=self.path) from None
        except duckdb.Error as exc:
            raise InputError(f"cannot open the store (not a DuckDB file, or from a newer DuckDB?): {exc}",
                             path=self.path) from None
        self._local = threading.local()
        self.memory_limit = memory_limit
        if not read_only:
            self._con.execute(DDL)
            self._con.execute("INSERT OR IGNORE INTO meta VALUES ('schema_version', ?)", [SCHEMA_VERSION])

    def _cur(self) -> Any:
        cur = getattr(self._local, "cur", None)
        if cur is None:
            cur = self._con.cursor()
            self._local.cur = cur
        return cur

    @contextmanager
    def transaction(self) -> Iterator[Any]:
        cur = self._cur()
        cur.execute("BEGIN TRANSACTION")
        try:
            yield cur
        except BaseException:
            cur.execute("ROLLBACK")
            raise
        cur.execute("COMMIT")

    def close(self) -> None:
        try:
            self._con.execute("CHECKPOINT")
        except Exception:  # read-only or already closed: nothing to flush
            pass
        self._con.close()

    def _rows(self, sql: str, params: Sequence[Any] = ()) -> list[tuple[Any, ...]]:
        return self._cur().execute(sql, list(params)).fetchall()

    def get_meta(self, key: str) -> str | None:
        r = self._rows("SELECT value FROM meta WHERE key = ?", [key])
        return r[0][0] if r else None

    def set_memory_limit(self, limit: str) -> None:
        """DuckDB's memory limit is the database's, for every connection: the performance job raises it
        while it joins a period and lowers it after (DuckDB then evicts cached blocks down to it)."""
        self._cur().execute(f"SET memory_limit = '{memory_size(limit)}'")

    def set_meta(self, key: str, value: str) -> None:
        self._cur().execute("INSERT OR REPLACE INTO meta VALUES (?, ?)", [key, value])

    def _select(self, table: str, cols: str, where: list[str], params: list[Any], order: str, limit: int
                ) -> list[dict[str, Any]]:
        """Rows of ``table`` as dicts keyed by ``cols`` (the reads behind the API's lists)."""
        rows = self._rows(f"SELECT {cols} FROM {table} WHERE {' AND '.join(where)} ORDER BY {order} LIMIT ?",
                          [*params, limit])
        names = [c.strip() for c in cols.split(",")]
        return [dict(zip(names, r)) for r in rows]

    @staticmethod
    def _filters(model: str, start_col: str, end_col: str, since: float | None, until: float | None,
                 version: str | None, segment: str | None, granularity: float | None) -> tuple[list[str], list[Any]]:
        where, params = ["model = ?"], [model]
        for cond, val in ((f"{end_col} > ?", since), (f"{start_col} < ?", until), ("version = ?", version),
                          ("segment = ?", segment), ("granularity = ?", granularity)):
            if val is not None:
                where.append(cond)
                params.append(val)
        return where, params

    def failure(self) -> str | None:
        """Why the database can no longer be used, or None. After a fatal error (a checkpoint that ran out
        of memory, a failed write of its file) DuckDB invalidates the database: every later statement fails
        until it is reopened, so the service must say so and stop rather than answer with nothing behind
        it. Acknowledged events are in the raw log (``rawlog.py``): a restart replays them."""
        import duckdb

        try:
            self._cur().execute("SELECT 1").fetchall()
        except duckdb.FatalException as exc:
            text = str(exc)
            if "Original error:" in text:  # the later statements' message wraps the first one's
                text = text.split("Original error:", 1)[1].strip().strip('"')
            return text.splitlines()[0].removeprefix("FATAL Error: ")
        return None

    def checkpoint(self) -> bool:
        """Write the WAL into the database file; False when a write transaction of another thread is open
        (DuckDB refuses then): the next call, a few seconds later, does it. Waiting (FORCE CHECKPOINT)
        would stall the fold loop behind the writer."""
        import duckdb

        try:
            self._cur().execute("CHECKPOINT")
        except duckdb.TransactionException as exc:
            if "other write transactions" not in str(exc):
                raise
            return False
        return True
