from __future__ import annotations

from django.utils import timezone
from django_tasks import task

from goodword.integrations import inbox


@task()
def process_inbox_task() -> int:
    """Process every due inbox item. Idempotent; the scheduler also sweeps."""
    total = 0
    while done := inbox.process_due(now=timezone.now()):
        total += done
    return total
