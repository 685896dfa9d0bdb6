"""Config history: every version of a model's config the service ran, who set it, when and from where.

An alert that stopped firing is often a config change; an audit asks who
made it. So each registration records the config (the effective one:
templates applied, defaults filled) as a new numbered version, but only
when it differs from the newest (by the SHA-256 of its canonical JSON): a
restart that reloads the same YAML adds nothing. The history is read with,
for each version, what it changed in what alerts (``argusml.schema.diff``).
"""

from __future__ import annotations

import hashlib
import json
from typing import Any

from argusml.schema.diff import diff_configs
from argusml.schema.model_config import ModelConfig
from argusml.store.connection import Connection


def canonical_json(config_json: str) -> str:
    """The same config always gives the same text (keys sorted, no spaces), so its digest identifies it."""
    return json.dumps(json.loads(config_json), sort_keys=True, separators=(",", ":"), ensure_ascii=False)


class ConfigHistory(Connection):
    """The ``config_versions`` table (``tables.DDL``)."""

    def record_config(self, model: str, config_json: str, author: str, source: str, now: float) -> int | None:
        """The new version's number, or None when the config is the newest one already."""
        text = canonical_json(config_json)
        digest = hashlib.sha256(text.encode()).hexdigest()
        with self.transaction() as cur:
            newest = cur.execute("SELECT version, sha256 FROM config_versions WHERE model = ? "
                                 "ORDER BY version DESC LIMIT 1", [model]).fetchone()
            if newest is not None and newest[1] == digest:
                return None
            version = 1 if newest is None else newest[0] + 1
            cur.execute("INSERT INTO config_versions VALUES (?, ?, ?, ?, ?, ?, ?)",
                        [model, version, digest, text, author, source, now])
        return version

    def config_history(self, model: str, limit: int = 20) -> list[dict[str, Any]]:
        """Newest first: ``version``, ``sha256``, ``author``, ``source``, ``recorded_at`` (epoch seconds),
        ``config`` (parsed) and ``changes``, what the version changed in what alerts against the one
        before it (``Change.to_dict()`` each; None for the first version)."""
        rows = self._rows("SELECT version, sha256, config, author, source, recorded_at FROM config_versions "
                          "WHERE model = ? ORDER BY version DESC LIMIT ?", [model, limit + 1])
        out = []
        for row, before in zip(rows[:limit], [*rows[1:], None]):
            version, digest, text, author, source, at = row
            changes = None
            if before is not None:
                changes = [c.to_dict() for c in diff_configs(ModelConfig.model_validate_json(before[2]),
                                                             ModelConfig.model_validate_json(text))]
            out.append({"version": version, "sha256": digest, "author": author, "source": source,
                        "recorded_at": at, "config": json.loads(text), "changes": changes})
        return out
