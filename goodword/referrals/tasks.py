from __future__ import annotations

from django_tasks import task

from goodword.referrals import clicklog


@task()
def ingest_clicks_task() -> int:
    """Move buffered clicks from the web processes' logs into the database."""
    return clicklog.ingest_clicks()
