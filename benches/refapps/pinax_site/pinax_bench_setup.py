"""Migrate the pinax reference's database and create one referral link, `/r/alice`."""

from __future__ import annotations

import os

import django

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "pinax_bench_settings")
django.setup()

from django.core.management import call_command  # noqa: E402
from pinax.referrals.models import Referral, ReferralResponse  # noqa: E402

call_command("migrate", interactive=False, verbosity=0)
Referral.objects.get_or_create(code="alice", defaults={"redirect_to": "https://shop.example.com/"})
print(ReferralResponse.objects.count())
