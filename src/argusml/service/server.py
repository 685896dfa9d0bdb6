"""`argus serve`: load model configs, recover the store, run uvicorn.

One process, one worker: the ingesting process owns every model's live
state (which Prometheus counters need too). Scale-out is by
model (one server per group of models), not by workers of one server.
"""

from __future__ import annotations

import gc
import logging
import os
import sys
import threading
from collections.abc import Callable
from pathlib import Path
from typing import Any

from argusml.monitor import ModelState, Monitor, Settings
from argusml.monitor.llm import baseline_from_file, learning_reference, past_traffic_args, plan_of
from argusml.monitor.state import version_references
from argusml.profile import Reference
from argusml.schema import ArgusError, ConfigError, InputError
from argusml.schema.model_config import AuthConfig, ModelConfig, load_auth_config, load_model_config
from argusml.service.auth import Authenticator
from argusml.store import Store

log = logging.getLogger("argus.server")

TOKENS_FILE = "tokens.yaml"


def load_model_file(path: str | os.PathLike[str]) -> tuple[ModelConfig, Reference]:
    """One model YAML checked as `argus serve` checks it before it listens: the config, its ``reference``
    (required here for a tabular model: a YAML model has no other way to get a baseline; an LLM model's
    is its ``llm.baseline.file`` of past events, or its first windows), the baseline itself, and the
    model's live state built once from both (declared bounds against the baseline's columns, the
    privacy key), so that `argus config validate` and `serve` can never disagree. ConfigError, one line
    per problem, each naming the file."""
    p = Path(path)
    cfg, ref_path = load_model_config(p)
    plan = plan_of(cfg)
    if ref_path is None and plan is None:
        raise ConfigError(f"{p}: reference: required (the baseline file written by `argus baseline`)")
    try:
        if plan is None:
            assert ref_path is not None
            ref = Reference.load(ref_path)
        else:  # an LLM model: a baseline of past events, or none yet (it learns from its first windows)
            base = cfg.llm_settings.baseline
            ref = (baseline_from_file(base.file, plan, **past_traffic_args(cfg)) if base.file
                   else learning_reference(plan))
        ModelState(cfg, ref)
        version_references(cfg)
    except (ConfigError, InputError) as exc:
        raise ConfigError("\n".join(line if line.startswith(str(p)) else f"{p}: {line}"
                                    for line in str(exc).splitlines())) from None
    return cfg, ref


def is_tokens_file(path: Path) -> bool:
    return path.name in (TOKENS_FILE, "tokens.yml")


def config_files(config_dir: str | os.PathLike[str]) -> list[Path]:
    """The YAML files `argus serve --config DIR` reads, in the order it reads them."""
    d = Path(config_dir)
    if not d.is_dir():
        raise ConfigError(f"{d}: --config must be a directory of model YAML files")
    return sorted([*d.glob("*.yaml"), *d.glob("*.yml")])


def load_config_dir(config_dir: str | os.PathLike[str]) -> tuple[list[tuple[Any, Reference]], AuthConfig | None]:
    """Every ``*.yaml`` / ``*.yml`` model config (``tokens.yaml`` is the token list), each checked by
    ``load_model_file``. Every file is read before anything fails, so one run names every problem of
    the folder (one line each, naming its file), not only the first. ``DIR/templates/`` is a folder, so
    its templates are never read as models."""
    models, auth, _ = _load_config_dir(config_dir)
    return models, auth


def config_author() -> str:
    """Who a YAML loaded at start-up is recorded as in the config history: ``$ARGUS_CONFIG_AUTHOR`` (a
    deploy pipeline sets it to the commit's author), else the user running the service."""
    import getpass

    try:
        return os.environ.get("ARGUS_CONFIG_AUTHOR") or getpass.getuser()
    except (KeyError, OSError):  # no name for this uid (a container's random user)
        return f"uid {os.getuid()}"


def _load_config_dir(config_dir: str | os.PathLike[str]
                     ) -> tuple[list[tuple[Any, Reference]], AuthConfig | None, dict[str, Path]]:
    models: list[tuple[Any, Reference]] = []
    auth = None
    names: dict[str, Path] = {}
    problems: list[str] = []
    for p in config_files(config_dir):
        try:
            if is_tokens_file(p):
                auth = load_auth_config(p)
                continue
            cfg, ref = load_model_file(p)
        except ConfigError as exc:
            problems.extend(str(exc).splitlines())
            continue
        if cfg.model in names:
            problems.append(f"{p}: model: {cfg.model!r} is already defined in {names[cfg.model]}")
            continue
        names[cfg.model] = p
        models.append((cfg, ref))
    if problems:
        raise ConfigError("\n".join(problems))
    return models, auth, names


def build(config_dir: str | None, data_dir: str, settings: Settings | None = None,
          tokens_file: str | None = None) -> tuple[Monitor, Authenticator, set[str]]:
    models, auth, sources = _load_config_dir(config_dir) if config_dir else ([], None, {})
    if tokens_file:
        auth = load_auth_config(tokens_file)
    settings = settings or Settings()
    store = Store(data_dir, memory_limit=settings.memory_limit)
    monitor = Monitor(store, settings)
    author = config_author()
    for cfg, ref in models:
        monitor.register(cfg, ref, author=author, source=str(sources[cfg.model].resolve()))
    loaded = monitor.load_registered()
    monitor.start()
    log.info("monitoring %d model(s): %s", len(monitor.models), ", ".join(sorted(monitor.models)) or "none yet",
             extra={"from_config": [c.model for c, _ in models], "from_store": loaded})
    return monitor, Authenticator(auth or AuthConfig()), {c.model for c, _ in models}


def default_validate_workers() -> int:
    """One worker process once there is a second core: it takes decoding and validation (a large part
    of the request thread's work) off the owner's GIL; one worker keeps up with what one owner can
    dedup, write and fold (docs/BENCHMARKS.md)."""
    return 1 if (os.cpu_count() or 1) >= 2 else 0


def serve(config_dir: str | None, data_dir: str, host: str, port: int, *, log_level: str = "info",
          tokens_file: str | None = None, max_body: int = 16 * 1024 * 1024, validate_workers: int = -1,
          external_url: str | None = None) -> None:
    import uvicorn

    from argusml.profile.dataset import one_blas_thread
    from argusml.service.app import create_app
    from argusml.service.logs import configure
    from argusml.service.offload import ValidatorPool

    configure(log_level)
    one_blas_thread()  # for the life of the process: see its docstring
    n_workers = default_validate_workers() if validate_workers < 0 else validate_workers
    pool = ValidatorPool(n_workers) if n_workers else None  # started first: they import while the store opens
    # The request thread, the writer and the folder share the GIL. With the default 5 ms switch
    # interval a writer coming back from DuckDB (GIL released) waits up to 5 ms per re-acquire
    # while the event loop parses JSON, several times per commit: acknowledgements queue behind it.
    sys.setswitchinterval(0.0005)
    shown_host = "localhost" if host in ("0.0.0.0", "::", "") else host
    settings = Settings(external_url=(external_url or f"http://{shown_host}:{port}").rstrip("/"))
    monitor, auth, yaml_models = build(config_dir, data_dir, settings=settings, tokens_file=tokens_file)
    # Every event allocates dicts and floats, so the cyclic collector runs often; each full pass
    # walks every object alive (references, modules, the app): move those out of its reach and
    # let the young generation grow, or the passes show up as periodic stalls of the acks.
    gc.collect()
    gc.freeze()
    gc.set_threshold(50_000, 20, 100)
    stopped = []

    def shutdown() -> None:
        if not stopped:
            stopped.append(True)
            watching.set()
            monitor.stop()
            monitor.store.close()
            if pool is not None:
                pool.close()
            log.info("stopped; queued events written, open windows saved")

    app = create_app(monitor, auth=auth, max_body=max_body, yaml_models=yaml_models, on_shutdown=[shutdown],
                     pool=pool)
    config = uvicorn.Config(app, host=host, port=port, log_config=None, access_log=False, workers=1,
                            timeout_graceful_shutdown=10, server_header=False)
    server = uvicorn.Server(config)
    log.info("listening on http://%s:%d (auth %s, %d validation worker process(es))", host, port,
             "on" if auth.enabled else "off", n_workers)
    failed: list[str] = []

    def stop_serving(failure: str) -> None:
        failed.append(failure)
        server.should_exit = True

    watching = watch_store(monitor, stop_serving)
    try:
        server.run()  # on SIGTERM/SIGINT: graceful stop, lifespan shutdown, then uvicorn re-raises the signal
    finally:
        shutdown()
    if failed:
        raise ArgusError(f"stopped: the store failed ({failed[0]}); start again to recover (acknowledged events "
                         "replay from the raw log)")


def watch_store(monitor: Monitor, on_failure: Callable[[str], None], every: float = 2.0) -> threading.Event:
    """A daemon thread that calls ``on_failure`` once, with the reason, when the store becomes unusable
    (``Connection.failure``: DuckDB invalidated it after a fatal error); set the returned event to stop
    it. Otherwise every thread's next statement would fail and be logged forever while /healthz still
    answered; stopping lets a supervisor restart the service, whose start recovers from the raw log."""
    import duckdb

    stop = threading.Event()

    def run() -> None:
        while not stop.wait(every):
            try:
                failure = monitor.store.failure()
            except duckdb.ConnectionException:  # closed under us: the service is stopping anyway
                return
            except duckdb.Error as exc:  # a passing error of the probe itself: look again
                log.warning("store watch: %s", exc)
                continue
            if failure is not None:
                log.critical("the store failed and cannot be used until the service restarts: %s", failure)
                on_failure(failure)
                return

    threading.Thread(target=run, name="argus-store-watch", daemon=True).start()
    return stop
