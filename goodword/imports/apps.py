from django.apps import AppConfig


class ImportsConfig(AppConfig):
    name = "goodword.imports"
    label = "imports"
