"""Runs that pause for a person, and people answering them: shared by the approvals
tests against a real AgentOS, the local runtime and the browser."""

import threading
from datetime import timedelta

from django.db import connection

from scheduler_admin.engine import approvals
from scheduler_admin.engine.clock import db_now
from scheduler_admin.engine.execution import execute_run
from scheduler_admin.engine.firing import fire_due
from scheduler_admin.engine.follow import follow_until_done
from scheduler_admin.models import RunStatus, ScheduleRun
from tests.factories import make_schedule


def fire_once(schedule) -> int:
    """The schedule falls due (a second ago) and fires: its queued run's pk."""
    schedule.next_run_at = db_now() - timedelta(seconds=1)
    schedule.save(update_fields=["next_run_at"])
    [pk] = fire_due(db_now())
    return pk


def paused_on_agentos(target, workflow: str, kind: str = "workflows", **schedule_fields):
    """A schedule fires, a worker submits, a follower follows: the run pauses."""
    schedule_fields.setdefault("cron_expr", "* * * * *")
    schedule = make_schedule(
        target=target,
        endpoint=f"/{kind}/{workflow}/runs",
        payload={"message": "the week"},
        **schedule_fields,
    )
    pk = fire_once(schedule)
    assert execute_run(pk) == "submitted"
    assert follow_until_done(pk, budget_s=30) == RunStatus.PAUSED
    return ScheduleRun.objects.get(pk=pk)


def answer_at_once(run_pk: int, users) -> dict[str, str]:
    """Each user approves the run at once; returns "won" or the message each was told."""
    results: dict[str, str] = {}
    start = threading.Barrier(len(users))

    def answer_as(user) -> None:
        start.wait()
        try:
            approvals.answer(ScheduleRun.objects.get(pk=run_pk), user=user, decision="approve")
            results[user.username] = "won"
        except approvals.AlreadyAnswered as exc:
            results[user.username] = str(exc)
        finally:
            connection.close()

    threads = [threading.Thread(target=answer_as, args=(user,)) for user in users]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(30)
    return results
