"""``make run``'s demo schedules are valid and point at components the runtime serves."""

import re

import pytest

from agentos_bridge.runtime import registry
from scheduler_admin.demo import DEMO_SCHEDULES
from scheduler_admin.engine.operations import create_schedule

pytestmark = pytest.mark.django_db


def test_every_demo_schedule_validates_and_its_component_is_registered():
    for spec in DEMO_SCHEDULES:
        schedule = create_schedule(spec)
        match = re.match(r"^/(agents|teams|workflows)/([^/]+)/runs$", schedule.endpoint)
        if match:
            assert registry.get(match[1], match[2]) is not None, schedule.endpoint
