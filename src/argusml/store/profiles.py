"""Window profiles and baselines: files beside the database, the windows and baselines tables hold references.

A window's profile is 50-250 KB of JSON, and a segmented model closes
hundreds of windows a day. Kept as text in a DuckDB column, they broke the
store: DuckDB rewrites the table's partly filled row group at every
checkpoint and must hold its strings in memory to do so, so once the profile
text passed the memory limit the checkpoint failed and the database was
invalidated. Here DuckDB keeps a short reference per window and the text
lives in files, which no checkpoint ever rewrites. Baselines (a reference
profile per model and version, hundreds of KB) went the same way when 500
models' baselines broke the checkpoint again.

Layout: ``<dir>/<name>.prof``, one file per write (a close, a roll-up, a
snapshot of the open windows), holding its profiles back to back. A
reference is ``@<name>#<offset>:<length>``. A text that does not start with
``@`` is a profile stored inline by a store from before this module; it
reads as itself.

Crash consistency: a file is written and fsynced before the transaction
that references it commits, so a committed reference always reads. A crash
in between leaves a file nothing references; so does a transaction that
drops references (a roll-up slimming its children, retention, a backfill
replacing windows, each snapshot replacing the last). ``sweep`` deletes
such files, at start-up at once, while serving only after they were seen
unreferenced for ``grace`` seconds: a reader that read a reference just
before it was dropped still finds its file.
"""

from __future__ import annotations

import os
import time
import uuid
from collections.abc import Iterable, Sequence
from pathlib import Path

from argusml.schema import InputError

SUFFIX = ".prof"
GRACE_SECONDS = 30.0


def is_reference(text: str | None) -> bool:
    return text is not None and text.startswith("@")


def file_of(ref: str) -> str:
    """The file name a reference points into."""
    return ref[1:ref.index("#")]


class ProfileFiles:
    """Profile texts in append-once files; see the module docstring for the protocol."""

    def __init__(self, directory: str | os.PathLike[str], *, grace: float = GRACE_SECONDS) -> None:
        self.dir = Path(directory)
        self.grace = grace
        self._unreferenced: dict[str, float] = {}  # file name -> when a sweep first found nothing pointing at it

    def put(self, texts: Sequence[str]) -> list[str]:
        """Write ``texts`` into one new file, durable when this returns; their references, in order."""
        if not texts:
            return []
        self.dir.mkdir(parents=True, exist_ok=True)
        name = uuid.uuid4().hex
        refs, parts, offset = [], [], 0
        for text in texts:
            data = text.encode()
            refs.append(f"@{name}#{offset}:{len(data)}")
            parts.append(data)
            offset += len(data)
        path = self.dir / f"{name}{SUFFIX}"
        with open(path, "xb") as f:
            f.write(b"".join(parts))
            f.flush()
            os.fsync(f.fileno())
        fd = os.open(self.dir, os.O_RDONLY)  # the new file's directory entry must be durable too
        try:
            os.fsync(fd)
        finally:
            os.close(fd)
        return refs

    def read(self, stored: Sequence[str | None]) -> list[str | None]:
        """The texts behind stored values (references, inline texts or None), in order; each file opened once."""
        out: list[str | None] = list(stored)
        by_file: dict[str, list[int]] = {}
        for i, s in enumerate(stored):
            if is_reference(s):
                by_file.setdefault(file_of(s), []).append(i)  # type: ignore[arg-type]
        for name, idx in by_file.items():
            path = self.dir / f"{name}{SUFFIX}"
            try:
                with open(path, "rb") as f:
                    for i in idx:
                        ref = stored[i]
                        assert ref is not None
                        offset, length = (int(x) for x in ref[ref.index("#") + 1:].split(":"))
                        f.seek(offset)
                        data = f.read(length)
                        if len(data) != length:
                            raise InputError(f"a stored profile is cut short ({len(data)} of {length} bytes)",
                                             path=str(path))
                        out[i] = data.decode()
            except FileNotFoundError:
                raise InputError("a stored profile's file is missing (was the data directory copied without its "
                                 "profiles/ folder?)", path=str(path)) from None
        return out

    def files(self) -> list[str]:
        if not self.dir.is_dir():
            return []
        return [p.name[:-len(SUFFIX)] for p in self.dir.iterdir() if p.name.endswith(SUFFIX)]

    def sweep(self, referenced: Iterable[str], *, now: float | None = None, at_once: bool = False) -> int:
        """Delete files no reference points at: at once (start-up, nobody reads yet), else those found
        unreferenced ``grace`` seconds ago or more. The number deleted."""
        now = time.monotonic() if now is None else now
        live = set(referenced)
        seen: dict[str, float] = {}
        deleted = 0
        for name in self.files():
            if name in live:
                continue
            first = self._unreferenced.get(name, now)
            if at_once or now - first >= self.grace:
                try:
                    (self.dir / f"{name}{SUFFIX}").unlink()
                    deleted += 1
                except FileNotFoundError:  # deleted meanwhile (by hand): nothing left to do
                    pass
            else:
                seen[name] = first
        self._unreferenced = seen
        return deleted
