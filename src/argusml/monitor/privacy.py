"""Privacy rules, applied to an event before anything about it is stored.

Dropping and masking are one dictionary operation per rule. Hashing uses
HMAC-SHA256 under a key from the environment, never from the config file
(the file is often in git): without the key a token cannot be reversed by
hashing guesses, and with the same key the same identifier maps to the same
token, so labels still join and distinct counts still work.
"""

from __future__ import annotations

import hashlib
import hmac
import os

from argusml.monitor.events import EventRecord
from argusml.schema import ConfigError
from argusml.schema.model_config import PrivacyRules

MASK = "***"
TOKEN_CHARS = 32


class Redactor:
    def __init__(self, rules: PrivacyRules, model: str) -> None:
        self.rules = rules
        self._key: bytes | None = None
        if rules.hash:
            key = os.environ.get(rules.hmac_key_env, "")
            if len(key) < 16:
                raise ConfigError(f"model {model!r}: privacy.hash needs a secret of at least 16 characters in the "
                                  f"environment variable {rules.hmac_key_env} (privacy.hmac_key_env)")
            self._key = key.encode()
        self._plan: dict[str, list[tuple[str, str]]] = {"features": [], "segment": []}
        self.hash_id = "id" in rules.hash
        for action in ("drop", "mask", "hash"):
            for path in getattr(rules, action):
                if path == "id":
                    continue
                where, name = path.split(".", 1)
                self._plan[where].append((name, action))
        self.active = bool(self.hash_id or self._plan["features"] or self._plan["segment"])
        self.feature_names = [name for name, _ in self._plan["features"]]

    def token(self, value: str) -> str:
        assert self._key is not None
        return hmac.new(self._key, value.encode(), hashlib.sha256).hexdigest()[:TOKEN_CHARS]

    def id(self, value: str) -> str:
        return self.token(value) if self.hash_id else value

    def _apply(self, d: dict[str, object], plan: list[tuple[str, str]]) -> dict[str, object]:
        if not any(name in d for name, _ in plan):
            return d
        d = dict(d)  # never modify the caller's object (the SDK may reuse it)
        for name, action in plan:
            if name not in d:
                continue
            v = d[name]
            if action == "drop":
                del d[name]
            elif action == "mask":
                d[name] = MASK if isinstance(v, str) else None
            elif v is not None:
                d[name] = self.token(str(v))
        return d

    def __call__(self, rec: EventRecord) -> None:
        if self.hash_id:
            rec.id = self.token(rec.id)
        if self._plan["features"]:
            rec.features = self._apply(rec.features, self._plan["features"])
        if self._plan["segment"] and rec.segment:
            rec.segment = self._apply(rec.segment, self._plan["segment"])
