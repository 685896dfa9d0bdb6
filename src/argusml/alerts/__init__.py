"""Alerting: what turns findings and metrics into the few notifications a person should act on.

The alert engine judges rules, SLOs and findings window by window, groups the alerts of one cause into an
incident, and hands notices to the notifiers; every alert links a runbook (``alerts/runbooks/*.md``, shipped
with Argus) that says what it means, how to confirm it and what to do. This layer sits above ``checks`` and
``store`` and below ``monitor``: it knows no HTTP server and no SQL. The engine is pure (it is given configs, windows and the time), so
the monitor drives it live and tests drive it through simulated time.
"""
