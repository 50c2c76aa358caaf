"""Demo schedules for ``make run``, against the built-in local runtime."""

DEMO_SCHEDULES = [
    {
        "name": "heartbeat",
        "description": "Every minute, a no-op: shows on-time firing.",
        "endpoint": "/noop",
        "cron_expr": "* * * * *",
    },
    {
        "name": "echo every 5 minutes",
        "description": "Echoes its payload back as output.",
        "endpoint": "/echo",
        "payload": {"message": "hello from the scheduler"},
        "cron_expr": "*/5 * * * *",
        "timezone": "Europe/Berlin",
    },
    {
        "name": "slow job",
        "description": "Sleeps 20 s: shows a run in flight.",
        "endpoint": "/sleep",
        "payload": {"seconds": 20},
        "cron_expr": "*/2 * * * *",
        "timeout_s": 60,
    },
]
