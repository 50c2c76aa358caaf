"""What a run sends, fixed when it is queued."""


def request_snapshot(schedule) -> dict:
    """Target, method, endpoint and timeout as they were when the run was queued (the
    payload is the run's ``input``): a later edit of the schedule does not change a
    run that is already waiting."""
    return {
        "target_id": schedule.target_id,
        "method": schedule.method,
        "endpoint": schedule.endpoint,
        "timeout_s": schedule.timeout_s,
    }
