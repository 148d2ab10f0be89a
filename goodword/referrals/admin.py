from django.contrib import admin

from goodword.lib.admin import ReadOnlyAdmin
from goodword.referrals.models import Click, Invite, Referral


@admin.register(Referral)
class ReferralAdmin(ReadOnlyAdmin):
    list_display = (
        "public_id",
        "advocate",
        "referee",
        "status",
        "reject_reason",
        "created_at",
        "converted_at",
    )
    list_filter = ("status", "program", "workspace")
    search_fields = ("public_id", "referee__external_id", "advocate__code")


@admin.register(Click)
class ClickAdmin(ReadOnlyAdmin):
    list_display = ("created_at", "advocate", "channel", "ua_class", "workspace")
    list_filter = ("channel", "ua_class", "workspace")


@admin.register(Invite)
class InviteAdmin(ReadOnlyAdmin):
    list_display = ("email", "advocate", "program", "created_at")
