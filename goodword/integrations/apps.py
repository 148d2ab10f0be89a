from django.apps import AppConfig


class IntegrationsConfig(AppConfig):
    name = "goodword.integrations"
    default_auto_field = "django.db.models.BigAutoField"
