"""Privacy helpers that know nothing of events or storage: PII detection and redaction of free text
(``pii``). ``monitor.privacy.Redactor`` applies them to events before anything is stored."""

from argusml.privacy.pii import DETECTORS, Span, find_pii, redact_text, text_stats

__all__ = ["DETECTORS", "Span", "find_pii", "redact_text", "text_stats"]
