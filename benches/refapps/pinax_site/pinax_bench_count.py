"""Print how many clicks (ReferralResponse rows) the pinax reference recorded."""

from __future__ import annotations

import os

import django

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "pinax_bench_settings")
django.setup()

from pinax.referrals.models import ReferralResponse  # noqa: E402

print(ReferralResponse.objects.count())
