from django.apps import AppConfig


class ProgramsConfig(AppConfig):
    name = "goodword.programs"
    label = "programs"
