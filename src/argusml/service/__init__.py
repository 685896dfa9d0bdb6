"""The HTTP edge: `argus serve` (FastAPI + uvicorn), Prometheus /metrics, auth, JSON logs."""
