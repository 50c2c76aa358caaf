"""Put a run's ids on every log line its django-q2 task writes (LOG_FORMAT=json)."""

from django.dispatch import receiver
from django_q.signals import post_execute_in_worker, pre_execute

from scheduler_admin.ops.logs import bind, clear


@receiver(pre_execute, dispatch_uid="scheduler_admin.ops.task_logging")
def bind_run_ids(sender, func, task, **kwargs) -> None:
    """Before each task: forget the previous task's ids, then bind this run's.

    One small indexed query per run, and only when lines are JSON (apps.py connects
    this module only then); the plain format shows the run pk from the message.
    """
    clear()
    from scheduler_admin.engine.dispatch import TASK
    from scheduler_admin.engine.execution import execute_run
    from scheduler_admin.models import ScheduleRun

    if execute_run not in (func, task.get("func")) and task.get("func") != TASK:
        return
    if not task.get("args"):
        return
    run_pk = task["args"][0]
    if isinstance(run_pk, list | tuple):
        if len(run_pk) != 1:
            return  # several runs: execute_run binds each one's ids in its own thread
        run_pk = run_pk[0]
    if not isinstance(run_pk, int):
        return
    row = (
        ScheduleRun.objects.filter(pk=run_pk)
        .values_list("schedule_id", "schedule__target__name")
        .first()
    )
    schedule_id, target = row if row else (None, None)
    bind(run=run_pk, schedule=schedule_id, target=target)


@receiver(post_execute_in_worker, dispatch_uid="scheduler_admin.ops.task_logging.after")
def forget_run_ids(sender, func, task, **kwargs) -> None:
    """After each task: the worker's own lines are about no run."""
    clear()
