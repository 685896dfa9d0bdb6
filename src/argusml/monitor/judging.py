"""The judge thread: LLM answers sampled at ingest are judged off the request path, their verdicts folded
into their windows.

A judge may be an LLM call of seconds; a request must be answered in milliseconds. So validation marks
the sampled events (``LLMPlan.judged``: a keyed hash of the id) and keeps their whole ``llm`` object in
memory (never stored: with ``llm.text: stats`` it is the only place the text lives, for as long as the
judge takes); the ingest hands them here after dedup, under the window's budget; this thread judges them
one by one (with the config's timeout: a slow or failing judge is counted as an error, never raised) and
adds each verdict to the window of the event's time, still open as long as the judge keeps up within the
lateness. A verdict whose window has closed is counted (``judge_late``), not folded elsewhere. While the
model learns its baseline, verdicts go to the learning, and become the baseline's judged quality.

Queued events are lost in a crash (they were never stored in full): the window then holds fewer verdicts,
which its intervals show.
"""

from __future__ import annotations

import logging
import math
import queue
import threading
from collections.abc import Callable
from typing import Any

from argusml.llm.judge import JudgeWindow, judge_events
from argusml.monitor.events import EventRecord
from argusml.monitor.state import ModelState

log = logging.getLogger("argus.monitor")

MAX_QUEUED = 10_000
"""Events waiting for the judge at most (all models): past it, a sampled event is skipped and counted."""


class Judging:
    def __init__(self, models: dict[str, ModelState], lock: threading.RLock, clock: Callable[[], float]) -> None:
        self.models = models
        self.lock = lock  # the fold's: windows are only changed under it
        self.clock = clock
        self.queue: queue.Queue[tuple[str, str, float, str, dict[str, Any]] | None] = queue.Queue()
        self.busy = 0  # items taken and not yet placed
        self.thread: threading.Thread | None = None

    def submit(self, state: ModelState, records: list[EventRecord]) -> None:
        """Queue the sampled events of an accepted batch, under each window's budget (what is over it is
        counted as ``skipped_budget`` of the window)."""
        cfg = state.config.llm_settings.judge
        if state.judge is None or cfg is None:
            return
        w = state.config.window
        for r in records:
            clean, r.judge_input = r.judge_input, None
            if clean is None:
                continue
            key = (r.version, math.floor(r.ts / w) * w)
            spent = state.judge_spent.get(key, 0)
            if spent >= cfg.max_per_window or self.queue.qsize() >= MAX_QUEUED:
                self.place(state, r.version, r.ts, JudgeWindow(state.judge.name, seen=1, skipped_budget=1))
                continue
            state.judge_spent[key] = spent + 1
            self.queue.put((state.name, r.version, r.ts, r.id, clean))

    def start(self) -> threading.Thread:
        self.thread = threading.Thread(target=self.run, name="argus-judge", daemon=True)
        self.thread.start()
        return self.thread

    def stop(self) -> None:
        self.queue.put(None)

    @property
    def idle(self) -> bool:
        return self.queue.empty() and self.busy == 0

    def run(self) -> None:
        while True:
            item = self.queue.get()
            if item is None:
                return
            self.busy += 1
            try:
                name, version, ts, id_, clean = item
                state = self.models.get(name)
                cfg = state.config.llm_settings.judge if state is not None else None
                if state is None or state.judge is None or cfg is None:
                    continue
                verdicts = judge_events([{"id": id_, "llm": clean}], state.judge,
                                        timeout_s=None if cfg.function == "default" else cfg.timeout)
                self.place(state, version, ts, verdicts)
            except Exception:  # the judge thread must outlive anything one event does
                log.exception("judging an event failed")
            finally:
                self.busy -= 1

    def place(self, state: ModelState, version: str, ts: float, verdicts: JudgeWindow) -> None:
        """Add verdicts to the window of ``ts`` (live or backfill), or to the learning; counted as late
        when that window has closed."""
        w = state.config.window
        start = math.floor(ts / w) * w
        with self.lock:
            if state.learning is not None:
                prev = state.learning.judged.get((version, start))
                state.learning.judged[(version, start)] = verdicts if prev is None else prev.merge(verdicts)
                return
            key = (version, start)
            prev = state.judge_pending.get(key)
            # the fold attaches them (its next tick): the window may not be folded yet (``attach_verdicts``)
            state.judge_pending[key] = verdicts if prev is None else prev.merge(verdicts)
            for key in [k for k in state.judge_spent if k[1] + w + state.config.lateness < start]:
                del state.judge_spent[key]  # windows long closed: their budget is spent for good
