from django.apps import AppConfig


class MessagingConfig(AppConfig):
    name = "goodword.messaging"
    default_auto_field = "django.db.models.BigAutoField"
