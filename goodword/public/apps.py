from django.apps import AppConfig


class PublicConfig(AppConfig):
    name = "goodword.public"
    label = "public"
