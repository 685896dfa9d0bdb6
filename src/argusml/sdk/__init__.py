"""The client SDK a model server imports: ``argusml.Client``."""

from argusml.sdk.client import Client, MonitoredModel, Stats, resource_usage

__all__ = ["Client", "MonitoredModel", "Stats", "resource_usage"]
