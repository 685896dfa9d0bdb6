"""Bearer tokens with scopes, stored hashed.

Tokens are 32 random bytes (``argus token create``), so SHA-256 is enough
to store them: a slow password hash protects guessable secrets, and these
are not guessable. A presented token is hashed and the digest compared with
every stored digest in constant time (``hmac.compare_digest``), so timing
reveals neither which token nor how much of it matched.
"""

from __future__ import annotations

import hashlib
import hmac
import secrets

from argusml.schema.model_config import AuthConfig, TokenEntry


def new_token() -> str:
    return "argus_" + secrets.token_urlsafe(32)


def digest(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


class Authenticator:
    def __init__(self, config: AuthConfig) -> None:
        self.entries: list[tuple[bytes, TokenEntry]] = [(bytes.fromhex(e.sha256), e) for e in config.tokens]

    @property
    def enabled(self) -> bool:
        return bool(self.entries)

    def lookup(self, token: str) -> TokenEntry | None:
        d = hashlib.sha256(token.encode()).digest()
        found = None
        for stored, entry in self.entries:  # no early exit: the time spent does not depend on the match
            if hmac.compare_digest(stored, d):
                found = entry
        return found

    @staticmethod
    def allows(entry: TokenEntry, scope: str, model: str | None) -> bool:
        if scope not in entry.scopes:
            return False
        return model is None or entry.models is None or model in entry.models
