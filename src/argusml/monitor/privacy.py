"""Privacy rules, applied to an event before anything about it is stored.

Dropping and masking are one dictionary operation per rule. Hashing uses
HMAC-SHA256 under a key from the environment, never from the config file
(the file is often in git): without the key a token cannot be reversed by
hashing guesses, and with the same key the same identifier maps to the same
token, so labels still join and distinct counts still work.

The ``pii`` rule scans free text (``argusml.privacy.pii``) and is the one rule whose cost grows with the
text; a model without it pays nothing (``active`` is false and the ingest path never calls the redactor).
"""

from __future__ import annotations

import hashlib
import hmac
import os
from typing import Any

from argusml.monitor.events import EventRecord
from argusml.privacy.pii import find_pii, redact_text, text_stats
from argusml.schema import ConfigError
from argusml.schema.model_config import PrivacyRules

MASK = "***"
TOKEN_CHARS = 32


class Redactor:
    def __init__(self, rules: PrivacyRules, model: str) -> None:
        self.rules = rules
        self._key: bytes | None = None
        if rules.needs_key:
            key = os.environ.get(rules.hmac_key_env, "")
            if len(key) < 16:
                raise ConfigError(f"model {model!r}: privacy.hash (or pii action hash) needs a secret of at least 16 characters in the "
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
        self.feature_names = [name for name, _ in self._plan["features"]]
        pii = rules.pii
        self.pii_action = pii.action if pii is not None else None
        self.pii_detectors = tuple(pii.detectors) if pii is not None else ()
        # the fields scanned: every string feature (pii_all), or the names per place (features, segment)
        self.pii_all = pii is not None and pii.fields == "strings"
        self._pii_names: dict[str, frozenset[str]] = {"features": frozenset(), "segment": frozenset()}
        if pii is not None and not self.pii_all:
            for where in self._pii_names:
                self._pii_names[where] = frozenset(p.split(".", 1)[1] for p in pii.fields if p.startswith(where + "."))
            self.feature_names += sorted(self._pii_names["features"])
        self.active = bool(self.hash_id or self._plan["features"] or self._plan["segment"] or pii is not None)

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

    def scrub(self, text: str) -> str:
        """``text`` with every PII value masked, whatever the action: for messages about a value (a type
        error quotes it) that go back to the client and into logs."""
        if self.pii_action is None:
            return text
        spans = find_pii(text, self.pii_detectors)
        return redact_text(text, spans) if spans else text

    def _scan(self, d: dict[str, Any], names: frozenset[str] | None) -> dict[str, Any]:
        """``d`` with its string values (those in ``names``; all when None) redacted by the pii action; ``d``
        itself when nothing changed."""
        out: dict[str, Any] | None = None
        for name, v in d.items():
            if type(v) is not str or (names is not None and name not in names):
                continue
            spans = find_pii(v, self.pii_detectors)
            if self.pii_action == "stats":
                new: Any = text_stats(v, spans)
            elif not spans:
                continue
            elif self.pii_action == "mask":
                new = redact_text(v, spans)
            elif self.pii_action == "hash":
                new = redact_text(v, spans, self.token)
            else:
                new = _DROPPED
            if out is None:
                out = dict(d)  # never modify the caller's object
            out[name] = new
        if out is None:
            return d
        return {k: v for k, v in out.items() if v is not _DROPPED} if self.pii_action == "drop" else out

    def __call__(self, rec: EventRecord) -> None:
        if self.hash_id:
            rec.id = self.token(rec.id)
        if self._plan["features"]:
            rec.features = self._apply(rec.features, self._plan["features"])
        if self._plan["segment"] and rec.segment:
            rec.segment = self._apply(rec.segment, self._plan["segment"])
        if self.pii_action is not None:
            if self.pii_all or self._pii_names["features"]:
                rec.features = self._scan(rec.features, None if self.pii_all else self._pii_names["features"])
            if self._pii_names["segment"] and rec.segment:
                rec.segment = self._scan(rec.segment, self._pii_names["segment"])


_DROPPED = object()  # a field the pii rule drops, removed once the scan is done
