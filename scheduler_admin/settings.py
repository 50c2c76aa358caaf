"""Settings, read once from the environment (see README, "Configuration")."""

import ipaddress
from datetime import timedelta
from pathlib import Path

import dj_database_url
from django.core.exceptions import ImproperlyConfigured

from scheduler_admin.env import env_bool, env_float, env_int, env_list, env_str

BASE_DIR = Path(__file__).resolve().parent.parent

DEBUG = env_bool("DEBUG", False)
# No secret default outside DEBUG: production must set SECRET_KEY.
SECRET_KEY = env_str(
    "SECRET_KEY", "dev-only-insecure-key-do-not-use-in-production" if DEBUG else None
)
ALLOWED_HOSTS = env_list("ALLOWED_HOSTS", "localhost,127.0.0.1,[::1]" if DEBUG else "")
CSRF_TRUSTED_ORIGINS = env_list("CSRF_TRUSTED_ORIGINS")

INSTALLED_APPS = [
    "django.contrib.admin",
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "django.contrib.staticfiles",
    "django_htmx",
    "template_partials",
    "django_q",
    "scheduler_admin",
    "agentos_bridge",
    "axes",
]

MIDDLEWARE = [
    "django.middleware.security.SecurityMiddleware",
    # CSP on every answer, no-store on authenticated ones (outermost: sees them all).
    "scheduler_admin.security.SecurityHeadersMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    "django.contrib.auth.middleware.LoginRequiredMiddleware",
    # Console pages also need a role (viewer or above), not just a login.
    "scheduler_admin.views.access.RoleRequiredMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
    "django_htmx.middleware.HtmxMiddleware",
    # Last, as django-axes asks: turns a locked-out login into the lockout page.
    "axes.middleware.AxesMiddleware",
]

if not DEBUG:
    # Static files from the web process itself (hashed names, compressed, cached for a
    # year): no separate file server to configure. In DEBUG, runserver serves them.
    MIDDLEWARE.insert(1, "whitenoise.middleware.WhiteNoiseMiddleware")

# Login throttling (django-axes): after LOGIN_FAILURE_LIMIT wrong passwords for one user
# name from one address, that pair is locked out for LOGIN_LOCKOUT_MINUTES. An admin
# unlocks it in /admin/ (Axes -> Access attempts: delete) or with
# `manage.py axes_reset_username NAME`.
AUTHENTICATION_BACKENDS = [
    "axes.backends.AxesStandaloneBackend",
    "django.contrib.auth.backends.ModelBackend",
]
AXES_FAILURE_LIMIT = env_int("LOGIN_FAILURE_LIMIT", 5)
AXES_COOLOFF_TIME = timedelta(minutes=env_int("LOGIN_LOCKOUT_MINUTES", 15))
AXES_LOCKOUT_PARAMETERS = [["username", "ip_address"]]
AXES_RESET_ON_SUCCESS = True
AXES_LOCKOUT_TEMPLATE = "registration/locked_out.html"
AXES_VERBOSE = False

ROOT_URLCONF = "scheduler_admin.urls"
WSGI_APPLICATION = "scheduler_admin.wsgi.application"

TEMPLATES = [
    {
        "BACKEND": "django.template.backends.django.DjangoTemplates",
        "DIRS": [BASE_DIR / "templates"],
        "APP_DIRS": True,
        "OPTIONS": {
            "context_processors": [
                "django.template.context_processors.request",
                "django.contrib.auth.context_processors.auth",
                "django.contrib.messages.context_processors.messages",
            ],
        },
    },
]

_DATABASE_URL = env_str("DATABASE_URL", f"sqlite:///{BASE_DIR / 'var' / 'db.sqlite3'}")
DATABASES = {
    "default": dj_database_url.parse(
        _DATABASE_URL,
        # Workers run many short tasks: a new PostgreSQL connection for each one doubled
        # the fire lag (benchmarks/fire_lag.py --postgres: p50 313 -> 138 ms).
        conn_max_age=env_int("DB_CONN_MAX_AGE", 0 if _DATABASE_URL.startswith("sqlite") else 60),
        conn_health_checks=True,
    )
}
if DATABASES["default"]["ENGINE"] == "django.db.backends.sqlite3":
    # Several processes (web, scheduler, workers) share one file: WAL lets readers
    # run beside the writer, IMMEDIATE takes the write lock at BEGIN so two claimers
    # queue on the busy timeout instead of failing on a lock upgrade.
    DATABASES["default"]["OPTIONS"] = {
        "transaction_mode": "IMMEDIATE",
        "timeout": 30,
        "init_command": "PRAGMA journal_mode=WAL; PRAGMA synchronous=NORMAL;",
    }

DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"

AUTH_PASSWORD_VALIDATORS = [
    {"NAME": "django.contrib.auth.password_validation.UserAttributeSimilarityValidator"},
    {"NAME": "django.contrib.auth.password_validation.MinimumLengthValidator"},
    {"NAME": "django.contrib.auth.password_validation.CommonPasswordValidator"},
    {"NAME": "django.contrib.auth.password_validation.NumericPasswordValidator"},
]
LOGIN_URL = "login"
LOGIN_REDIRECT_URL = "dashboard"
LOGOUT_REDIRECT_URL = "login"

LANGUAGE_CODE = "en-us"
TIME_ZONE = "UTC"
USE_I18N = True
USE_TZ = True

STATIC_URL = "static/"
STATICFILES_DIRS = [BASE_DIR / "static"]
STATIC_ROOT = env_str("STATIC_ROOT", str(BASE_DIR / "var" / "staticfiles"))
# Outside DEBUG, `collectstatic` writes content-hashed, compressed copies and pages link
# to the hashed names, which whitenoise serves with a one-year cache lifetime.
STORAGES = {
    "default": {"BACKEND": "django.core.files.storage.FileSystemStorage"},
    "staticfiles": {
        "BACKEND": "django.contrib.staticfiles.storage.StaticFilesStorage"
        if DEBUG
        else "whitenoise.storage.CompressedManifestStaticFilesStorage"
    },
    # Files runs produce (audio, images, documents): any Django storage under "artifacts".
    "artifacts": {
        "BACKEND": "django.core.files.storage.FileSystemStorage",
        "OPTIONS": {"location": env_str("ARTIFACTS_DIR", str(BASE_DIR / "var" / "artifacts"))},
    },
}

# Security: safe defaults, relaxed only by DEBUG (local development and tests).
SECURE_SSL_REDIRECT = env_bool("SECURE_SSL_REDIRECT", not DEBUG)
SESSION_COOKIE_SECURE = not DEBUG
CSRF_COOKIE_SECURE = not DEBUG
SECURE_HSTS_SECONDS = env_int("SECURE_HSTS_SECONDS", 0 if DEBUG else 31536000)
SECURE_HSTS_INCLUDE_SUBDOMAINS = not DEBUG
SECURE_HSTS_PRELOAD = not DEBUG
# Only behind a proxy that sets X-Forwarded-Proto (and strips a client's own).
BEHIND_TLS_PROXY = env_bool("BEHIND_TLS_PROXY", False)
if BEHIND_TLS_PROXY:
    SECURE_PROXY_SSL_HEADER = ("HTTP_X_FORWARDED_PROTO", "https")
X_FRAME_OPTIONS = "DENY"
# Load balancers and Prometheus talk plain HTTP to the app on the private network.
SECURE_REDIRECT_EXEMPT = [r"^healthz$", r"^readyz$", r"^metrics$"]

# Agent servers may live on private and loopback networks (they usually do); link-local
# and cloud metadata addresses are refused always (agentos_bridge/netguard.py).
TARGETS_ALLOW_PRIVATE_NETWORKS = env_bool("TARGETS_ALLOW_PRIVATE_NETWORKS", True)
# Request bodies (API and forms): larger ones are refused, the API answers JSON 413.
DATA_UPLOAD_MAX_MEMORY_SIZE = env_int("MAX_REQUEST_BYTES", 1_048_576)

# django-q2: the ORM broker by default, Redis when REDIS_URL is set.
REDIS_URL = env_str("REDIS_URL", "")
Q_CLUSTER = {
    "name": env_str("Q_CLUSTER_NAME", "scheduler"),
    "workers": env_int("Q_WORKERS", 4),
    "recycle": 500,
    # Our runs carry their own timeouts and leases; the cluster's timeout is only a
    # backstop, and the broker's redelivery must never beat it (see engine/execution.py).
    "timeout": env_int("Q_TIMEOUT_S", 90000),
    "retry": env_int("Q_RETRY_S", 90060),
    "max_attempts": 1,
    # Our run rows are the record of every task; don't store django-q2 successes too.
    "save_limit": env_int("Q_SAVE_LIMIT", -1),
    # The ORM broker leases this many jobs per poll: fewer round trips under a burst.
    "bulk": env_int("Q_BULK", 8),
    "ack_failures": True,
    "catch_up": False,
    "poll": env_float("Q_POLL_S", 0.05),
    "label": "Django Q2",
}
if REDIS_URL:
    Q_CLUSTER["redis"] = REDIS_URL
else:
    Q_CLUSTER["orm"] = "default"

# The scheduler's own knobs (engine/).
SCHEDULER = {
    # Ranges: a zero batch or lease would spin the loop, a zero catch-up cap would fire
    # every listed time; refused at start like any other bad value.
    "POLL_INTERVAL_S": env_float("SCHEDULER_POLL_INTERVAL_S", 1.0, 0.05, 60),
    "LEASE_S": env_float("SCHEDULER_LEASE_S", 30.0, 1, 3600),
    "REDISPATCH_AFTER_S": env_float("SCHEDULER_REDISPATCH_AFTER_S", 60.0, 5, 86400),
    "CATCH_UP_WINDOW_S": env_int("SCHEDULER_CATCH_UP_WINDOW_S", 86400, 0, 7 * 86400),
    "CATCH_UP_MAX_RUNS": env_int("SCHEDULER_CATCH_UP_MAX_RUNS", 100, 1, 1000),
    "LATE_AFTER_S": env_float("SCHEDULER_LATE_AFTER_S", 60.0, 0, 86400),
    "BATCH_SIZE": env_int("SCHEDULER_BATCH_SIZE", 500, 1, 5000),
    # Due runs are written and handed to the workers this long before their time; a
    # worker holds them until the time comes (by the database's clock), then sends.
    # So a thousand runs due at one second leave at that second, not after the
    # scheduler has written them. 0: written when due.
    "FIRE_AHEAD_S": env_float("SCHEDULER_FIRE_AHEAD_S", 2.0, 0, 30),  # on_time.MAX_FIRE_AHEAD_S
    # django_q: hand runs to the cluster; inline: run them in the caller's process;
    # thread: run them in a background thread of the caller (live-server tests);
    # manual: leave them queued (unit tests drive execution step by step).
    "DISPATCH": env_str("SCHEDULER_DISPATCH", "django_q"),
    # Followers of runs in flight (engine/follow.py): checks at once per process, the
    # longest wait between two checks of one run, and how often to look for due checks.
    # How long a submit may take before its answer counts as lost (then the run is
    # looked up on the server by its session, never sent blindly again).
    "SUBMIT_TIMEOUT_S": env_float("SCHEDULER_SUBMIT_TIMEOUT_S", 30.0, 1, 600),
    "FOLLOW_CONCURRENCY": env_int("SCHEDULER_FOLLOW_CONCURRENCY", 32, 1, 1024),
    "FOLLOW_MAX_INTERVAL_S": env_float("SCHEDULER_FOLLOW_MAX_INTERVAL_S", 1.5, 0.1, 60),
    "FOLLOW_POLL_S": env_float("SCHEDULER_FOLLOW_POLL_S", 0.1, 0.01, 10),
    # Runs (with their traces), audit rows and django-q2 task rows older than this are
    # pruned by the scheduler (engine/retention.py); 0 keeps everything.
    "RUN_RETENTION_DAYS": env_int("RUN_RETENTION_DAYS", 90, 0, 36500),
}
if SCHEDULER["DISPATCH"] not in ("django_q", "inline", "thread", "manual"):
    raise ImproperlyConfigured(
        f"SCHEDULER_DISPATCH={SCHEDULER['DISPATCH']!r} is not one of django_q, inline, "
        "thread, manual."
    )

# Alerting (scheduler_admin/alerts/, docs/alerts.md).
ALERTS = {
    # A due time whose request has not left this long after it is late; due schedules
    # nobody fired for this long mean no scheduler is running.
    "LATE_AFTER_S": env_float("ALERT_LATE_AFTER_S", 60.0),
    # How often run_alerts checks (late, silent scheduler, reminders, re-sends).
    "TICK_S": env_float("ALERT_TICK_S", 5.0),
    # Absolute base of the links in alerts (the console's public address).
    "CONSOLE_URL": env_str("CONSOLE_URL", "http://127.0.0.1:8000"),
    "HTTP_TIMEOUT_S": env_float("ALERT_HTTP_TIMEOUT_S", 10.0),
    "MAX_ATTEMPTS": env_int("ALERT_MAX_ATTEMPTS", 8),
    "EMAIL_FROM": env_str("ALERT_EMAIL_FROM", ""),
    # django_q: notifications are django-q2 tasks; inline/manual for tests.
    "DELIVERY": env_str("ALERT_DELIVERY", "django_q"),
}
# Email channels use Django's SMTP backend with these.
EMAIL_HOST = env_str("EMAIL_HOST", "localhost")
EMAIL_PORT = env_int("EMAIL_PORT", 25)
EMAIL_HOST_USER = env_str("EMAIL_HOST_USER", "")
EMAIL_HOST_PASSWORD = env_str("EMAIL_HOST_PASSWORD", "")
EMAIL_USE_TLS = env_bool("EMAIL_USE_TLS", False)
EMAIL_USE_SSL = env_bool("EMAIL_USE_SSL", False)
EMAIL_TIMEOUT = env_int("EMAIL_TIMEOUT_S", 10)
DEFAULT_FROM_EMAIL = env_str("DEFAULT_FROM_EMAIL", "scheduler@localhost")

# Health, metrics and heartbeats (scheduler_admin/ops/).
OPS = {
    # /metrics answers requests from these networks, or with this bearer token. Behind a
    # proxy on the same machine every request comes from loopback: no network by default.
    "METRICS_TOKEN": env_str("METRICS_TOKEN", ""),
    "METRICS_ALLOWED_NETWORKS": env_list(
        "METRICS_ALLOWED_NETWORKS", "" if BEHIND_TLS_PROXY else "127.0.0.1/32,::1/128"
    ),
    # Recent-activity metrics (fire lag, runs by status, retries) cover this window.
    "METRICS_WINDOW_S": env_int("METRICS_WINDOW_S", 300),
    # A looping process stores its heartbeat at most this often.
    "HEARTBEAT_EVERY_S": env_float("HEARTBEAT_EVERY_S", 5.0),
    # /readyz: each process kind that must have beaten within so many seconds.
    "READY_HEARTBEATS": {"scheduler": env_float("READYZ_SCHEDULER_MAX_AGE_S", 30.0)},
    # /readyz: a run ready to start may wait this long for a worker.
    "READY_QUEUE_MAX_WAIT_S": env_float("READYZ_QUEUE_MAX_WAIT_S", 300.0),
}

for _cidr in OPS["METRICS_ALLOWED_NETWORKS"]:
    try:
        ipaddress.ip_network(_cidr, strict=False)
    except ValueError:
        raise ImproperlyConfigured(
            f"METRICS_ALLOWED_NETWORKS: {_cidr!r} is not a network like 10.0.0.0/8."
        ) from None

# Schedules declared in code, upserted at start (engine/registry.py).
CODE_SCHEDULES: list[dict] = []

# plain: for people; json: one object per line, with run, schedule, target and trace ids.
LOG_FORMAT = env_str("LOG_FORMAT", "plain")
if LOG_FORMAT not in ("plain", "json"):
    raise ImproperlyConfigured(f"LOG_FORMAT={LOG_FORMAT!r}: use plain or json.")
LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "formatters": {
        "plain": {"format": "%(asctime)s %(levelname)s %(name)s %(message)s"},
        "json": {"()": "scheduler_admin.ops.logs.JsonFormatter"},
    },
    "filters": {"context": {"()": "scheduler_admin.ops.logs.ContextFilter"}},
    "handlers": {
        "console": {
            "class": "logging.StreamHandler",
            "formatter": LOG_FORMAT,
            "filters": ["context"],
        }
    },
    "root": {"handlers": ["console"], "level": env_str("LOG_LEVEL", "INFO")},
    "loggers": {
        "django.db.backends": {"level": "WARNING"},
        # At DEBUG urllib3 logs each request's path, where Slack, Discord and most
        # webhooks carry their token (alert channels): never below INFO.
        "urllib3": {"level": "INFO"},
        # axes logs every successful login at INFO; failures and lockouts are WARNING.
        "axes": {"level": "WARNING"},
    },
}

# The agno agents, teams and workflows of the built-in `local` target: an import path
# to an AgentOS object or a list of components (agentos_bridge/runtime/registry.py).
LOCAL_AGNO_APP = env_str("LOCAL_AGNO_APP", "agentos_bridge.runtime.demo:workflows")
# The local runtime's runs that paused for a person, kept until they are answered
# (agentos_bridge/runtime/pauses.py): a SQLite file every worker can reach.
LOCAL_AGNO_DB = env_str("LOCAL_AGNO_DB", str(BASE_DIR / "var" / "local-agno-pauses.sqlite3"))
