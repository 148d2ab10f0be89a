"""`/hooks/email/<esp>/tracking/`: the providers' tracking webhooks, received by anymail's views.

A URL answers only for the provider EMAIL_URL names, and only once EMAIL_WEBHOOK_SECRET is set:
without a secret anymail would take events from anyone (it merely warns), and an event can
suppress an address. A request without the right basic auth gets anymail's 400. Only the
tracking views are mounted: Goodword receives no inbound mail.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

from anymail.webhooks.amazon_ses import AmazonSESTrackingWebhookView
from anymail.webhooks.brevo import BrevoTrackingWebhookView
from anymail.webhooks.mailgun import MailgunTrackingWebhookView
from anymail.webhooks.mailjet import MailjetTrackingWebhookView
from anymail.webhooks.postmark import PostmarkTrackingWebhookView
from anymail.webhooks.sendgrid import SendGridTrackingWebhookView
from anymail.webhooks.sparkpost import SparkPostTrackingWebhookView
from django.conf import settings
from django.http import Http404, HttpRequest, HttpResponse
from django.urls import path
from django.views.decorators.csrf import csrf_exempt

from goodword.lib import email_providers

TRACKING = {
    "amazon_ses": AmazonSESTrackingWebhookView,
    "brevo": BrevoTrackingWebhookView,
    "mailgun": MailgunTrackingWebhookView,
    "mailjet": MailjetTrackingWebhookView,
    "postmark": PostmarkTrackingWebhookView,
    "sendgrid": SendGridTrackingWebhookView,
    "sparkpost": SparkPostTrackingWebhookView,
}


def is_open(esp: str) -> bool:
    """Whether the tracking webhook of `esp` takes events (its provider configured, a secret)."""
    return bool(esp and esp == settings.EMAIL_PROVIDER and settings.ANYMAIL_WEBHOOK_SECRET)


def _guarded(esp: str, view: Callable[..., HttpResponse]) -> Callable[..., HttpResponse]:
    @csrf_exempt
    def guarded(request: HttpRequest) -> HttpResponse:
        if not is_open(esp):
            raise Http404("no such webhook")
        return view(request)

    return guarded


app_name = "email-hooks"
urlpatterns = [
    path(f"{esp}/tracking/", _guarded(esp, view.as_view()), name=f"{esp}-tracking")
    for esp, view in TRACKING.items()
]


@dataclass(frozen=True)
class Transport:
    """How email leaves, in words for the dashboard (never a secret)."""

    name: str  # "Postmark", "SMTP mail.example.com:587", "console"
    webhook_url: str  # where the provider posts tracking events; "" for SMTP and the console
    webhook_ready: bool  # EMAIL_WEBHOOK_SECRET is set, so that URL takes events


def transport() -> Transport:
    esp = settings.EMAIL_PROVIDER
    if esp:
        name = next(p.name for p in email_providers.PROVIDERS.values() if p.esp == esp)
        url = f"{settings.SITE_URL}/hooks/email/{esp}/tracking/"
        return Transport(name, url, bool(settings.ANYMAIL_WEBHOOK_SECRET))
    if settings.EMAIL_BACKEND == "django.core.mail.backends.smtp.EmailBackend":
        return Transport(f"SMTP {settings.EMAIL_HOST}:{settings.EMAIL_PORT}", "", False)
    return Transport("console", "", False)
