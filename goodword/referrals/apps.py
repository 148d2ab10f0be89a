from django.apps import AppConfig


class ReferralsConfig(AppConfig):
    name = "goodword.referrals"
    label = "referrals"
