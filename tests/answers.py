"""Two people answering one paused run at the same moment, each in a thread of its own."""

import threading

from django.db import connection

from scheduler_admin.engine import approvals
from scheduler_admin.models import ScheduleRun


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
