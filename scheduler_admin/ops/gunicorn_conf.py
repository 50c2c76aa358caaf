"""gunicorn's settings: ``gunicorn -c python:scheduler_admin.ops.gunicorn_conf
scheduler_admin.wsgi`` (what ``run_stack --production`` and the systemd unit run).

Read from the environment like everything else (README, "Configuration"); gunicorn's own
command-line flags (``--bind``, ``--workers``) still override these.
"""

import os

from scheduler_admin.env import env_int, env_str

bind = env_str("WEB_BIND", "127.0.0.1:8000")
# Sync workers: a page is ~30-45 ms of CPU and a few short queries (benchmarks/web_load.py),
# so workers rarely wait on I/O: fewer than gunicorn's 2 x cores + 1 rule of thumb.
workers = env_int("WEB_WORKERS", max(2, (os.cpu_count() or 1) * 3 // 2 + 1))
timeout = env_int("WEB_TIMEOUT_S", 30)
graceful_timeout = 20
keepalive = 5
# Recycle workers now and then so a slow leak never grows for weeks.
max_requests = 2000
max_requests_jitter = 200
# The runtime control socket is one fixed path per user: two instances on a machine
# (tests, blue/green) would fight over it, and signals do everything we need.
control_socket_disable = True
accesslog = "-"
errorlog = "-"
access_log_format = '%(h)s "%(r)s" %(s)s %(b)s %(M)sms'

if env_str("LOG_FORMAT", "plain") == "json":
    # gunicorn's own lines (start, worker exits, one per request) as JSON objects too.
    access_log_format = "%(h)s %(m)s %(U)s %(s)s %(b)s %(M)sms"
    logconfig_dict = {
        "version": 1,
        "disable_existing_loggers": False,
        "formatters": {"json": {"()": "scheduler_admin.ops.logs.JsonFormatter"}},
        "handlers": {
            "console": {
                "class": "logging.StreamHandler",
                "formatter": "json",
                "stream": "ext://sys.stdout",
            }
        },
        "loggers": {
            "gunicorn.error": {"handlers": ["console"], "level": "INFO", "propagate": False},
            "gunicorn.access": {"handlers": ["console"], "level": "INFO", "propagate": False},
        },
    }
