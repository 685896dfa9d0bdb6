"""The registry: which models the monitor watches, each with its config and references per version.

Registering a model again (a new config or baseline) keeps its live state:
its counters, dedup index and pending labels carry on, while its open
windows close at once on the bins they were folded on. So does replacing
one version's reference (a retrain). Models registered over HTTP are kept
in the store and come back at the next start (``load_registered``).
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable

import orjson

from argusml.monitor.closing import Closer
from argusml.monitor.fold import Fold
from argusml.monitor.llm import is_learning, learning_reference, plan_of
from argusml.monitor.state import ModelState, version_references
from argusml.monitor.versions import PredictionBaselines
from argusml.monitor.windows import Window
from argusml.profile import Reference
from argusml.schema import ArgusError, ConfigError, InputError
from argusml.schema.model_config import ModelConfig
from argusml.store import Store

log = logging.getLogger("argus.monitor")


class UnknownModel(ArgusError):
    """A request names a model the monitor does not watch (404 at the edge)."""

    def __init__(self, model: str) -> None:
        self.model = model
        super().__init__(f"unknown model {model!r}: register it with PUT /v1/models/{model} (a config and a "
                         f"baseline from `argus baseline`), or add {model}.yaml to the --config directory")


class Registry:
    """The models, shared by every part of the monitor (one dict, changed only here and under ``lock``)."""

    def __init__(self, store: Store, clock: Callable[[], float], models: dict[str, ModelState], lock: threading.RLock,
                 baselines: PredictionBaselines, closer: Closer, fold: Fold) -> None:
        self.store = store
        self.clock = clock
        self.models = models
        self.lock = lock
        self.baselines = baselines
        self.closer = closer
        self.fold = fold

    def register(self, config: ModelConfig, reference: Reference, *, persist: bool = True, author: str = "unknown",
                 source: str = "api") -> ModelState:
        """Add or replace a model. Replacing keeps its live state (counters,
        dedup, open windows) and swaps config and reference. A config that
        differs from the newest recorded one becomes a new version in the
        config history, by ``author`` from ``source`` (a YAML path, or "http")."""
        now = self.clock()
        own = version_references(config)  # before anything changes: a bad file changes nothing
        with self.lock:
            old = self.models.get(config.model)
            learning = is_learning(reference)
            if learning:
                reference = self._learned(config, reference, old)
                learning = is_learning(reference)
            state = ModelState(config, reference)
            if old is None:  # a start: the versions' references set over HTTP in an earlier run carry on
                for v, b in self.store.load_baselines(config.model):
                    if v and v not in own:
                        state.set_reference(v, Reference.from_dict(orjson.loads(b), f"store:{config.model}:{v}"))
            else:
                windows = list(old.folder.open.values())
                old.folder.open.clear()  # closed now, so the snapshot below must not save them as open
                self._close_now(old, windows, now)
                backfilled = [*old.backfill.open.values(), *old.backfill.evicted]
                old.backfill.open.clear()
                old.backfill.evicted = []
                self._close_now(old, backfilled, now, backfill=True)
                for v, r in old.refs.items():
                    if v:
                        state.set_reference(v, r.reference)
                state.metrics, state.dedup, state.pending = old.metrics, old.dedup, old.pending
                state.pending_outcomes, state.outcome_names = old.pending_outcomes, old.outcome_names
                state.versions, state.events_total = old.versions, old.events_total
                state.learned_seq = old.learned_seq
                state.judge_spent = old.judge_spent
                if state.sessions is not None and old.sessions is not None:
                    state.sessions.open = old.sessions.open
                if state.learning is not None and old.learning is not None:  # what it has seen so far counts
                    state.learning.counts, state.learning.judged = old.learning.counts, old.learning.judged
            for v, r in own.items():
                state.set_reference(v, r)
            self.models[config.model] = state
            self.baselines.forget(config.model)
        if persist:
            self.store.save_model(config.model, config.model_dump_json(), now)
            self.store.record_config(config.model, config.model_dump_json(), author, source, now)
            if not learning:  # a learning model has no baseline yet (monitor/llm.py)
                self.store.save_baseline(config.model, "", orjson.dumps(reference.to_dict(),
                                                                        option=orjson.OPT_SERIALIZE_NUMPY).decode(), now)
            for v, r in own.items():
                self.store.save_baseline(config.model, v, orjson.dumps(r.to_dict(),
                                                                       option=orjson.OPT_SERIALIZE_NUMPY).decode(), now)
        return state

    def _learned(self, config: ModelConfig, learning: Reference, old: ModelState | None) -> Reference:
        """The baseline an LLM model registered without one has already learned (in this run, or stored
        by an earlier one), so that a restart or a config change does not start the learning again; the
        learning reference when there is none, or when the config now derives columns it lacks (a
        ``no_answer_below`` added: that baseline cannot judge them)."""
        learned: Reference | None = None
        if old is not None:
            if old.llm is not None and not is_learning(old.refs[""].reference):
                learned = old.refs[""].reference
        else:
            stored = dict(self.store.load_baselines(config.model)).get("")
            if stored is not None:
                learned = Reference.from_dict(orjson.loads(stored), f"store:{config.model}")
        if learned is None or not learning.specs.keys() <= learned.specs.keys():
            return learning
        return learned

    def set_version_reference(self, model: str, version: str, reference: Reference) -> None:
        """Replace one version's reference (a retrain): its open windows close
        now on the old bins, new events fold on the new ones."""
        state = self.model(model)
        try:  # before anything closes: a baseline the declared bounds do not fit changes nothing
            state.declared_for(reference)
        except ConfigError as exc:
            raise InputError(f"the baseline does not fit the model's declared bounds: {exc}") from None
        now = self.clock()
        with self.lock:
            self._close_now(state, state.folder.take_version(version), now)
            self._close_now(state, state.backfill.take_version(version), now, backfill=True)
            state.set_reference(version, reference)
            self.baselines.forget(model, version)
        self.store.save_baseline(model, version, orjson.dumps(reference.to_dict(),
                                                              option=orjson.OPT_SERIALIZE_NUMPY).decode(), now)

    def model(self, name: str) -> ModelState:
        """The model's state; ``UnknownModel`` if there is none."""
        state = self.models.get(name)
        if state is None:
            raise UnknownModel(name)
        return state

    def load_registered(self) -> list[str]:
        """Models registered over HTTP in an earlier run (YAML files are loaded by the caller, and win)."""
        out = []
        for name, cfg_json in self.store.load_models():
            if name in self.models:
                continue
            try:
                # its versions' references are in the store (saved when it was registered): file paths in
                # the config may not exist any more
                cfg = ModelConfig.model_validate_json(cfg_json).model_copy(update={"versions": {}})
                baselines = dict(self.store.load_baselines(name))
                plan = plan_of(cfg)
                if "" in baselines:
                    ref = Reference.from_dict(orjson.loads(baselines[""]), f"store:{name}")
                elif plan is not None:  # an LLM model still learning its baseline
                    ref = learning_reference(plan)
                else:
                    continue
                state = self.register(cfg, ref, persist=False)
                for v, b in baselines.items():
                    if v:
                        state.set_reference(v, Reference.from_dict(orjson.loads(b), f"store:{name}:{v}"))
                out.append(name)
            except Exception as exc:  # one bad stored model must not keep the others from starting
                log.error("cannot load stored model %r: %s", name, exc)
        return out

    def _close_now(self, state: ModelState, windows: list[Window], now: float, backfill: bool = False) -> None:
        """Close windows outside the fold loop's schedule (reference replaced), stored with a snapshot."""
        if windows:
            self.fold.snapshot(self.closer.close(state, windows, now, backfill))
