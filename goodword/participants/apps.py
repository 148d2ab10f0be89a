from django.apps import AppConfig


class ParticipantsConfig(AppConfig):
    name = "goodword.participants"
    label = "participants"
