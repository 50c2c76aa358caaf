"""Alerting: engine events → incidents (one open per key) → an outbox of notifications
→ channels (email, Slack, signed webhook, Apprise). See docs/alerts.md.

- ``events.py`` the only API the engine calls (``run_closed``, ``schedule_paused``);
- ``incidents.py`` events to incidents: open, fold repeats, resolve, acknowledge;
- ``rules.py`` which failures count, which channels hear about an incident;
- ``content.py`` what a notification says (payload, Slack, email and text forms);
- ``channels.py`` one sender per channel kind; ``secrets.py`` channel secrets at rest;
- ``delivery.py`` the outbox: claim, send, log, retry with back-off;
- ``monitor.py`` what ``manage.py run_alerts`` checks: late runs, a silent scheduler,
  reminders, and the sweeps that make delivery survive restarts.
"""
