"""The client SDK a model server imports: ``argusml.Client``."""

from argusml.sdk.breaker import CircuitBreaker, CircuitOpenError, Served
from argusml.sdk.client import Client, MonitoredModel, Stats, resource_usage

__all__ = ["CircuitBreaker", "CircuitOpenError", "Client", "MonitoredModel", "Served", "Stats", "resource_usage"]
