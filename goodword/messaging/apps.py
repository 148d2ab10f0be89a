from django.apps import AppConfig


class MessagingConfig(AppConfig):
    name = "goodword.messaging"
    default_auto_field = "django.db.models.BigAutoField"

    def ready(self) -> None:
        # anymail hands a provider's tracking webhooks to us by its signal only (tracking.py).
        from anymail.signals import tracking as anymail_tracking

        from goodword.messaging import tracking

        anymail_tracking.connect(tracking.record_event, dispatch_uid="goodword-email-tracking")
