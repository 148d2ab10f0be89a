from django.apps import AppConfig


class IngestConfig(AppConfig):
    name = "goodword.ingest"
    label = "ingest"
