"""Alerting: rules over what the monitor measures, alerts with state, incidents that group them and rank
their likely causes, and the notices that tell people (docs/ALERTING.md).

Between the monitor and the checks: the engine is pure (it is given configs, windows and the time), so the
monitor drives it live and tests drive it through simulated time.
"""
