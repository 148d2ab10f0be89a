from __future__ import annotations

from django.utils import timezone
from django_tasks import task

from goodword.rewards import services


@task()
def approve_due_rewards_task() -> int:
    """Approve every reward whose hold has ended. Idempotent; the scheduler also sweeps."""
    total = 0
    while approved := services.approve_due_rewards(now=timezone.now()):
        total += approved
    return total
