"""Raw events: append-only segment files, one directory per model.

The raw event is the bulk of what the service writes (a 25-feature event's
JSON is several times its index row in DuckDB: docs/BENCHMARKS.md, "Figures behind the code"). Writing it through
DuckDB costs twice: once into DuckDB's WAL at commit, once more when DuckDB
checkpoints that WAL into its file, and the checkpoint stalls the writer.
An append-only file costs one sequential write and one fsync per writer
transaction, and retention deletes whole files instead of updating rows.

Layout: ``<dir>/<model>/<first_seq:020d>.ndjson``; each line is
``[seq, version, id, ts, arrival, payload]`` with the payload being the
stored (redacted) event object (``encode_line`` writes it, ``decode_line``
reads it: nothing else knows the format). Sequence numbers grow across the
files of a model. A segment is closed once it passes ``segment_bytes``.

Crash consistency: the writer appends and fsyncs here, then acknowledges;
the index rows reach DuckDB later, in larger transactions. This log is
therefore the record of what was acknowledged: after a crash the index may
lack its tail, which the monitor re-indexes from here at start-up. A crash
in the middle of an append leaves a torn last line, never acknowledged,
which ``repair`` cuts.
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import orjson

SEGMENT_BYTES = 64 * 1024 * 1024


def encode_line(seq: int, version: str, id_: str, ts: float, arrival: float, payload: bytes) -> bytes:
    """One raw event as a line of the log. ``payload`` is the event object already serialised (the writer
    holds it as bytes from validation), so it is spliced in rather than parsed and dumped again."""
    return orjson.dumps((seq, version, id_, ts, arrival))[:-1] + b"," + payload + b"]\n"


def decode_line(line: bytes) -> tuple[int, str, str, float, float, dict[str, Any]]:
    """(seq, version, id, ts, arrival, payload) of a line ``encode_line`` wrote."""
    seq, version, id_, ts, arrival, payload = orjson.loads(line)
    return seq, version, id_, ts, arrival, payload


class RawLog:
    def __init__(self, directory: str | os.PathLike[str], segment_bytes: int = SEGMENT_BYTES) -> None:
        self.dir = Path(directory)
        self.dir.mkdir(parents=True, exist_ok=True)
        self.segment_bytes = segment_bytes
        self._open: dict[str, tuple[Path, int, object]] = {}  # model -> (path, size, file)

    def _model_dir(self, model: str) -> Path:
        return self.dir / model

    def segments(self, model: str) -> list[Path]:
        d = self._model_dir(model)
        if not d.is_dir():
            return []
        return sorted(d.glob("*.ndjson"))

    def models(self) -> list[str]:
        return sorted(p.name for p in self.dir.iterdir() if p.is_dir())

    def append(self, model: str, first_seq: int, lines: list[bytes]) -> None:
        """Append lines (each ending in a newline) and fsync before returning."""
        cur = self._open.get(model)
        if cur is None or cur[1] >= self.segment_bytes:
            if cur is not None:
                cur[2].close()  # type: ignore[attr-defined]
            d = self._model_dir(model)
            d.mkdir(parents=True, exist_ok=True)
            path = d / f"{first_seq:020d}.ndjson"
            f = open(path, "ab")
            cur = (path, f.tell(), f)
            _fsync_dir(d)
        path, size, f = cur
        data = b"".join(lines)
        f.write(data)  # type: ignore[attr-defined]
        f.flush()  # type: ignore[attr-defined]
        os.fsync(f.fileno())  # type: ignore[attr-defined]
        self._open[model] = (path, size + len(data), f)

    def close(self) -> None:
        for _path, _size, f in self._open.values():
            f.close()  # type: ignore[attr-defined]
        self._open = {}

    def read_after(self, model: str, seq: int, chunk: int = 50_000
                   ) -> Iterator[list[tuple[int, str, str, float, float, dict[str, Any]]]]:
        """(seq, version, id, ts, arrival, payload) of lines past ``seq``, in chunks."""
        segs = self.segments(model)
        firsts = [int(p.stem) for p in segs]
        out: list[tuple[int, str, str, float, float, dict[str, Any]]] = []
        for i, p in enumerate(segs):
            if i + 1 < len(segs) and firsts[i + 1] <= seq + 1:
                continue  # every line of this segment is at or before seq
            with open(p, "rb") as f:
                for line in f:
                    if not line.endswith(b"\n"):
                        break  # a torn tail (crash mid-write): never acknowledged
                    row = decode_line(line)
                    if row[0] <= seq:
                        continue
                    out.append(row)
                    if len(out) >= chunk:
                        yield out
                        out = []
        if out:
            yield out

    def repair(self, model: str) -> bool:
        """Cut a torn last line (a crash during an append); whether there was one."""
        segs = self.segments(model)
        if not segs:
            return False
        p = segs[-1]
        size = p.stat().st_size
        if not size:
            return False
        with open(p, "rb") as f:
            f.seek(max(0, size - 1))
            if f.read(1) == b"\n":
                return False
        self.truncate_after(model, 2**62)
        return True

    def last_seq(self, model: str) -> int:
        """The sequence number of the last whole line (0 without one)."""
        for p in reversed(self.segments(model)):
            size = p.stat().st_size
            with open(p, "rb") as f:
                back = 4096
                while True:  # read back from the end until a whole line is in view
                    start = max(0, size - back)
                    f.seek(start)
                    lines = f.read(size - start).split(b"\n")
                    whole = lines[:-1] if start == 0 else lines[1:-1]  # the first piece may be cut, the last torn
                    if whole:
                        return int(decode_line(whole[-1])[0])
                    if start == 0:
                        break
                    back *= 4
        return 0

    def truncate_after(self, model: str, seq: int) -> int:
        """Cut every line past ``seq`` (and a torn last line); the number of whole lines cut."""
        cut = 0
        for p in reversed(self.segments(model)):
            keep = 0
            tail = 0
            with open(p, "rb") as f:
                for line in f:
                    if line.endswith(b"\n") and decode_line(line)[0] <= seq:
                        keep += len(line)
                    else:
                        tail += line.endswith(b"\n")
                        break
                tail += sum(1 for line in f if line.endswith(b"\n"))
            cut += tail
            if keep == 0 and int(p.stem) > seq:
                p.unlink()  # the whole segment is past seq
                continue
            if keep < p.stat().st_size:
                with open(p, "r+b") as f:
                    f.truncate(keep)
                    os.fsync(f.fileno())
            break
        return cut

    def drop(self, model: str, through_seq: int, newest_seq: int) -> int:
        """Delete segments whose lines all have seq <= ``through_seq`` (retention); bytes freed.
        The newest segment goes too once ``through_seq`` reaches ``newest_seq``."""
        segs = self.segments(model)
        freed = 0
        for i, p in enumerate(segs):
            last = int(segs[i + 1].stem) - 1 if i + 1 < len(segs) else newest_seq
            if last > through_seq:
                break
            cur = self._open.get(model)
            if cur is not None and cur[0] == p:
                cur[2].close()  # type: ignore[attr-defined]
                del self._open[model]
            freed += p.stat().st_size
            p.unlink()
        return freed

    def count(self, model: str) -> int:
        """Whole lines held (for tests and the status of small stores: it reads every file)."""
        n = 0
        for p in self.segments(model):
            with open(p, "rb") as f:
                n += sum(1 for line in f if line.endswith(b"\n"))
        return n


def _fsync_dir(d: Path) -> None:
    """A new file's directory entry must be durable too."""
    fd = os.open(d, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)
