from django.contrib import admin

from goodword.lib.admin import ReadOnlyAdmin
from goodword.participants.models import Advocate, Participant


@admin.register(Participant)
class ParticipantAdmin(ReadOnlyAdmin):
    list_display = ("external_id", "email", "name", "workspace", "purchase_count", "created_at")
    search_fields = ("external_id", "email", "name")
    list_filter = ("workspace",)


@admin.register(Advocate)
class AdvocateAdmin(ReadOnlyAdmin):
    list_display = ("code", "participant", "program", "workspace", "created_at")
    search_fields = ("code", "participant__external_id")
