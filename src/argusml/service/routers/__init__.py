"""The HTTP routes, one router per part of the API (the OpenAPI tags): ingest, models, results, operations."""
