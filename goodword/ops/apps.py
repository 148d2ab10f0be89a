from django.apps import AppConfig


class OpsConfig(AppConfig):
    name = "goodword.ops"
    label = "ops"
