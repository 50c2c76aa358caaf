"""/metrics: Prometheus text, parsed with prometheus_client's own parser; numbers derived
from the database; open to allowed networks or the bearer token, nobody else."""

from datetime import timedelta

import pytest
from django.test import Client
from django.utils import timezone
from prometheus_client.parser import text_string_to_metric_families

from scheduler_admin.models import Heartbeat, RunStatus, Target, Trigger
from tests.factories import make_run, make_schedule


def scrape(client: Client | None = None, **extra) -> dict:
    response = (client or Client()).get("/metrics", **extra)
    assert response.status_code == 200, response.content
    assert response["Content-Type"].startswith("text/plain; version=0.0.4")
    families = text_string_to_metric_families(response.content.decode())
    return {family.name: family for family in families}


def samples(family, name: str | None = None) -> dict:
    return {
        tuple(sorted(s.labels.items())): s.value
        for s in family.samples
        if name is None or s.name == name
    }


@pytest.fixture
def busy(db):
    """Runs of two targets in every state, some with a known fire lag."""
    now = timezone.now()
    remote = Target.objects.create(name="remote", base_url="https://agents.example.com")
    local = make_schedule(name="local-one")
    far = make_schedule(name="remote-one", target=remote)
    minutes = iter(range(1, 100))

    def run(schedule, **fields):
        return make_run(schedule, scheduled_for=now - timedelta(minutes=next(minutes)), **fields)

    for lag_s in (0.08, 0.2, 0.2, 0.7, 3.0):
        when = now - timedelta(minutes=next(minutes))
        make_run(
            local,
            scheduled_for=when,
            request_sent_at=when + timedelta(seconds=lag_s),
            status=RunStatus.SUCCESS,
        )
    run(local, status=RunStatus.RUNNING, lease_expires_at=now + timedelta(seconds=30))
    run(far, status=RunStatus.RUNNING, lease_expires_at=now + timedelta(seconds=30))
    run(far, status=RunStatus.QUEUED, not_before=now - timedelta(seconds=2))  # ready
    run(far, status=RunStatus.QUEUED, dispatched_at=now)  # in the broker
    run(local, status=RunStatus.QUEUED, trigger=Trigger.RETRY, attempt=2,
        not_before=now + timedelta(minutes=5))  # waiting  # fmt: skip
    run(far, status=RunStatus.FAILED, error="worker lost: host:1 stopped renewing its lease")
    # Outside the window: counted nowhere in the recent metrics.
    make_run(local, scheduled_for=now - timedelta(hours=2), queued_at=now - timedelta(hours=2),
             status=RunStatus.FAILED)  # fmt: skip
    Heartbeat.objects.create(
        name="scheduler",
        beat_at=now - timedelta(seconds=3),
        passes=4,
        max_pass_ms=250,
        last_pass_ms=20,
    )


def test_metrics_parse_and_count_from_the_database(busy):
    metrics = scrape()
    assert samples(metrics["scheduler_runs_in_flight"]) == {
        (("status", "queued"), ("target", "local")): 1,
        (("status", "queued"), ("target", "remote")): 2,
        (("status", "running"), ("target", "local")): 1,
        (("status", "running"), ("target", "remote")): 1,
    }
    assert samples(metrics["scheduler_queue_depth"]) == {
        (("state", "waiting"),): 1,
        (("state", "ready"),): 1,
        (("state", "in_broker"),): 1,
        (("state", "held"),): 0,
    }
    recent = samples(metrics["scheduler_runs_recent"])
    assert recent[(("status", "success"), ("target", "local"))] == 5
    assert recent[(("status", "failed"), ("target", "remote"))] == 1
    assert (("status", "failed"), ("target", "local")) not in recent  # 2 h old
    assert samples(metrics["scheduler_retries_recent"]) == {(): 1}
    assert samples(metrics["scheduler_worker_lost_recent"]) == {(): 1}
    assert samples(metrics["scheduler_schedules"])[(("state", "enabled"),)] == 2
    age = samples(metrics["scheduler_heartbeat_age_seconds"])[(("process", "scheduler"),)]
    assert 3 <= age < 10
    assert samples(metrics["scheduler_tick_duration_max_seconds"]) == {
        (("process", "scheduler"),): 0.25
    }


def test_fire_lag_is_a_histogram_of_first_cron_attempts(busy):
    metrics = scrape()
    lag = metrics["scheduler_fire_lag_seconds"]
    # The Prometheus text format has no gauge histogram: a histogram, sum and count aside.
    assert lag.type == "histogram"
    buckets = {s.labels["le"]: s.value for s in lag.samples if s.name.endswith("_bucket")}
    assert buckets["0.1"] == 1
    assert buckets["0.25"] == 3
    assert buckets["1.0"] == 4
    assert buckets["5.0"] == 5
    assert buckets["+Inf"] == 5
    assert samples(metrics["scheduler_fire_lag_seconds_gsum"]) == {(): pytest.approx(4.18)}


def test_openmetrics_for_a_scraper_that_asks_for_it(busy):
    from prometheus_client.openmetrics.parser import text_string_to_metric_families as parse

    response = Client().get("/metrics", HTTP_ACCEPT="application/openmetrics-text; version=1.0.0")
    assert response["Content-Type"].startswith("application/openmetrics-text")
    families = {f.name: f for f in parse(response.content.decode())}
    assert families["scheduler_fire_lag_seconds"].type == "gaugehistogram"


def test_an_empty_database_still_exposes_every_family(db):
    metrics = scrape()
    for name in (
        "scheduler_runs_in_flight",
        "scheduler_queue_depth",
        "scheduler_runs_recent",
        "scheduler_fire_lag_seconds",
        "scheduler_retries_recent",
        "scheduler_worker_lost_recent",
        "scheduler_schedules",
        "scheduler_heartbeat_age_seconds",
        "scheduler_tick_duration_max_seconds",
        "scheduler_metrics_collect_seconds",
    ):
        assert name in metrics


def test_scrape_cost_is_a_fixed_number_of_queries(busy, django_assert_max_num_queries):
    with django_assert_max_num_queries(8):
        scrape()


def test_other_networks_are_refused_without_the_token(db, settings):
    settings.OPS = {**settings.OPS, "METRICS_TOKEN": "", "METRICS_ALLOWED_NETWORKS": ["10.0.0.0/8"]}
    assert Client().get("/metrics", REMOTE_ADDR="192.168.1.5").status_code == 403
    assert Client().get("/metrics", REMOTE_ADDR="10.1.2.3").status_code == 200
    # A forwarded header is the client's word: it opens nothing.
    forged = Client().get("/metrics", REMOTE_ADDR="192.168.1.5", HTTP_X_FORWARDED_FOR="10.1.2.3")
    assert forged.status_code == 403


def test_the_token_opens_metrics_from_anywhere_and_a_wrong_one_does_not(db, settings):
    settings.OPS = {
        **settings.OPS,
        "METRICS_TOKEN": "m3trics-token",
        "METRICS_ALLOWED_NETWORKS": [],
    }
    assert Client().get("/metrics", REMOTE_ADDR="203.0.113.9").status_code == 403
    wrong = Client().get("/metrics", REMOTE_ADDR="203.0.113.9", HTTP_AUTHORIZATION="Bearer not-it")
    assert wrong.status_code == 403
    scrape(REMOTE_ADDR="203.0.113.9", HTTP_AUTHORIZATION="Bearer m3trics-token")


def test_metrics_need_no_login_and_show_no_secrets(busy, settings, monkeypatch):
    monkeypatch.setenv("REMOTE_TOKEN", "tok-should-never-show")
    Target.objects.filter(name="remote").update(token_env="REMOTE_TOKEN")
    body = Client().get("/metrics").content.decode()
    assert "tok-should-never-show" not in body
    assert settings.SECRET_KEY not in body


def test_alert_deliveries_are_counted_by_channel_kind_and_status(db):
    from scheduler_admin.models import Notification
    from tests.factories import make_channel

    channel = make_channel("webhook", url="http://127.0.0.1:9/hook")
    for n, status in enumerate(["sent", "sent", "failed"]):
        Notification.objects.create(
            channel=channel, event="opened", dedup_key=f"k{n}", payload={}, status=status
        )
    samples = {
        tuple(sorted(s.labels.items())): s.value
        for s in scrape()["scheduler_alert_deliveries_recent"].samples
    }
    assert samples[(("channel_kind", "webhook"), ("status", "sent"))] == 2
    assert samples[(("channel_kind", "webhook"), ("status", "failed"))] == 1
