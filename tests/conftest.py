"""Fixtures shared across the test files: the service tests' baseline and a running monitor.

Two markers, registered in pyproject.toml, say what ``make test-fast`` leaves out (``make test`` runs all):
``service`` on the tests of the collector's parts (monitor, store, service), ``slow`` on those that start
real processes, a real Prometheus or Chromium, kill -9 a server, or take seconds (Monte Carlo checks, the
real-data corpus). A new test that starts a monitor or a server takes ``service``; one that runs ``argus``
in a child process takes ``slow``.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest

from argusml.profile import Reference
from service_util import Running, make_reference, start_monitor


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    """Files holding slow tests run first, each file's tests in their own order. ``make test`` hands whole
    files to the workers (``--dist loadfile``) in collection order: a two-minute file (the game day) collected
    late ran alone while the others sat idle; handed out first, the short files fill in around it."""
    slow = {item.path for item in items if item.get_closest_marker("slow")}
    items.sort(key=lambda item: item.path not in slow)


@pytest.fixture(scope="session")
def ref() -> Reference:
    """The service tests' binary model (service_util.make_reference: x0-x5, cat, score, label); nothing
    changes a Reference once built, so one serves every test."""
    return make_reference()


@pytest.fixture
def running_monitor(tmp_path: Path) -> Iterator[Callable[..., Running]]:
    """Starts a real monitor the way ``service_util.start_monitor`` does, its store under ``tmp_path / data``
    (default ``data``): ``running_monitor((config, ref), ..., clock=, settings=, auth=, start=)``. Whatever
    the test did (a stop for a restart, a failed assertion), each is stopped and its store closed after it."""
    started: list[Running] = []

    def start(*models: tuple[Any, Reference], data: str = "data", **kwargs: Any) -> Running:
        running = start_monitor(tmp_path / data, *models, **kwargs)
        started.append(running)
        return running

    yield start
    for running in reversed(started):
        running.stop()
