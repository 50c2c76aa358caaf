"""Demo schedules for ``make run``, against the built-in local runtime
(agents and workflows of agentos_bridge.runtime.demo)."""

DEMO_SCHEDULES = [
    {
        "name": "heartbeat",
        "description": "Every minute, a no-op: shows on-time firing.",
        "endpoint": "/noop",
        "cron_expr": "* * * * *",
    },
    {
        "name": "daily digest",
        "description": "Research, outline, draft: a three-step workflow at 07:00 Berlin time.",
        "endpoint": "/workflows/digest/runs",
        "payload": {"message": "AI agents in operations"},
        "cron_expr": "0 7 * * *",
        "timezone": "Europe/Berlin",
    },
    {
        "name": "digest every 10 minutes",
        "description": "The digest workflow, often enough to fill the run history.",
        "endpoint": "/workflows/digest/runs",
        "payload": {"message": "scheduler news"},
        "cron_expr": "*/10 * * * *",
    },
    {
        "name": "fan-out research",
        "description": "Three sources searched in parallel, then merged.",
        "endpoint": "/workflows/fan-out/runs",
        "payload": {"message": "vector databases"},
        "cron_expr": "*/15 * * * *",
    },
    {
        "name": "quality loop",
        "description": "Revises a draft until its quality score reaches 0.8.",
        "endpoint": "/workflows/quality-loop/runs",
        "payload": {"message": "release notes"},
        "cron_expr": "*/20 * * * *",
    },
    {
        "name": "news router",
        "description": "Routes the message to the news desk or the general desk.",
        "endpoint": "/workflows/router/runs",
        "payload": {"message": "news: the scheduler shipped"},
        "cron_expr": "*/30 * * * *",
    },
    {
        "name": "flaky agent",
        "description": "Fails its first two attempts, then succeeds: shows retries.",
        "endpoint": "/agents/flaky/runs",
        "payload": {"message": "try hard"},
        "cron_expr": "*/5 * * * *",
        "max_retries": 3,
        "retry_delay_s": 5,
    },
    {
        "name": "slow pipeline",
        "description": "Five 4-second stages: shows a run in flight and its live trace.",
        "endpoint": "/workflows/slow/runs",
        "payload": {"message": "take your time"},
        "cron_expr": "*/2 * * * *",
        "timeout_s": 60,
    },
    {
        "name": "echo every 5 minutes",
        "description": "Echoes its payload back as output.",
        "endpoint": "/echo",
        "payload": {"message": "hello from the scheduler"},
        "cron_expr": "*/5 * * * *",
        "timezone": "Europe/Berlin",
    },
]
