"""Self-contained HTML rendering of a report dict (no network, no CDN)."""

from __future__ import annotations

import html
import json
from typing import Any


def render_html(report: dict[str, Any], embedded: bool = False) -> str:
    body = html.escape(json.dumps(report["verdict"], indent=1))
    return f"<html><body><pre>{body}</pre></body></html>"
