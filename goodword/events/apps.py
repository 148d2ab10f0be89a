from django.apps import AppConfig


class EventsConfig(AppConfig):
    name = "goodword.events"
    label = "events"
