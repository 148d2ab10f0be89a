from __future__ import annotations

import ipaddress
import os
import tempfile

# Before Django reads its settings: a data dir of the run's own (secret key, click logs).
os.environ.setdefault("GOODWORD_DATA_DIR", tempfile.mkdtemp(prefix="goodword-test-"))
os.environ.setdefault("SITE_URL", "http://testserver")

from collections.abc import Iterator  # noqa: E402
from typing import Any  # noqa: E402

import pytest  # noqa: E402
from django.conf import settings  # noqa: E402

from goodword.public import links  # noqa: E402
from tests.factories import Api, Story, make_story  # noqa: E402

# A real `goodword serve` for end-to-end and browser tests (`server` fixture).
pytest_plugins = ["tests.servers"]


@pytest.fixture(autouse=True)
def _isolated(tmp_path: object, monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    """Each test gets its own click log dir and an empty link cache."""
    monkeypatch.setattr(settings, "CLICK_LOG_DIR", tmp_path / "clicks")  # type: ignore[operator]
    links.forget()
    links._writer.directory = None
    links._writer._pid = -1
    yield
    links.forget()


@pytest.fixture
def story(db: None) -> Story:
    """acme (alice advocates in a live program), and globex, which must always get 404."""
    return make_story()


@pytest.fixture
def acme(story: Story) -> Api:
    return story.acme


@pytest.fixture
def globex(story: Story) -> Api:
    return story.globex


def postgres() -> bool:
    return settings.DATABASES["default"]["ENGINE"].endswith("postgresql")


@pytest.fixture(autouse=True)
def _immediate_tasks(settings: object) -> None:
    """Run enqueued tasks at once, in-process, so tests see their effect."""
    settings.TASKS = {  # type: ignore[attr-defined]
        "default": {"BACKEND": "django_tasks.backends.immediate.ImmediateBackend"}
    }


@pytest.fixture
def rows_match_the_catalogue(db: None) -> Iterator[None]:
    """After the test, each domain event written must match its name's schema (modules that
    write many kinds use it: `pytestmark = pytest.mark.usefixtures(...)`)."""
    from goodword.events import catalogue
    from goodword.events.models import DomainEvent

    yield
    for event in DomainEvent.objects.order_by("pk"):
        catalogue.validate(event.name, event.data, subject_id=event.subject_id)


@pytest.fixture
def outbound_loopback(settings: object) -> None:
    """Let outbound calls (goodword.lib.outbound) reach loopback, where the test receivers
    (tests/receiver.py) listen; without it they are refused like any private address."""
    settings.OUTBOUND_ALLOW_NETWORKS = (  # type: ignore[attr-defined]
        ipaddress.ip_network("127.0.0.0/8"),
        ipaddress.ip_network("::1/128"),
    )


@pytest.fixture
def mailbox(settings: object) -> Iterator[Any]:
    """A real SMTP server on loopback (tests/mailbox.py) that Django's SMTP backend sends to."""
    from tests import mailbox as smtp

    controller, box = smtp.start()
    settings.EMAIL_BACKEND = "django.core.mail.backends.smtp.EmailBackend"  # type: ignore[attr-defined]
    settings.EMAIL_HOST = "127.0.0.1"  # type: ignore[attr-defined]
    settings.EMAIL_PORT = box.port  # type: ignore[attr-defined]
    settings.EMAIL_USE_SSL = False  # type: ignore[attr-defined]
    settings.EMAIL_USE_TLS = False  # type: ignore[attr-defined]
    settings.EMAIL_HOST_USER = ""  # type: ignore[attr-defined]
    settings.EMAIL_HOST_PASSWORD = ""  # type: ignore[attr-defined]
    try:
        yield box
    finally:
        controller.stop()
