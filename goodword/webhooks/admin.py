from django.contrib import admin

from goodword.lib.admin import ReadOnlyAdmin
from goodword.webhooks.models import WebhookAttempt, WebhookEndpoint, WebhookMessage


@admin.register(WebhookEndpoint)
class WebhookEndpointAdmin(ReadOnlyAdmin):
    # Never the secrets: they sign what the merchant's receiver trusts.
    fields = (
        "public_id",
        "workspace",
        "url",
        "description",
        "event_types",
        "active",
        "disabled_reason",
        "failing_since",
        "previous_secret_expires_at",
        "created_at",
        "updated_at",
    )
    list_display = ("public_id", "workspace", "url", "active", "disabled_reason", "failing_since")
    list_filter = ("active", "disabled_reason", "workspace")
    search_fields = ("public_id", "url")


@admin.register(WebhookMessage)
class WebhookMessageAdmin(ReadOnlyAdmin):
    list_display = ("public_id", "endpoint", "event_name", "status", "attempts", "next_attempt_at")
    list_filter = ("status", "workspace")
    search_fields = ("public_id", "event_name")


@admin.register(WebhookAttempt)
class WebhookAttemptAdmin(ReadOnlyAdmin):
    workspace_lookup = "endpoint__workspace_id"
    list_display = ("message", "endpoint", "at", "status_code", "duration_ms", "error")
    search_fields = ("message__public_id",)
