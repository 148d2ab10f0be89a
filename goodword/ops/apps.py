from django.apps import AppConfig


class OpsConfig(AppConfig):
    name = "goodword.ops"
    label = "ops"

    def ready(self) -> None:
        from goodword.ops import checks  # noqa: F401 - registers the checks
