from django.apps import AppConfig


class WebhooksConfig(AppConfig):
    name = "goodword.webhooks"
    default_auto_field = "django.db.models.BigAutoField"
