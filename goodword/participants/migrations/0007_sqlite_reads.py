from django.db import migrations, models


class Migration(migrations.Migration):
    dependencies = [
        ("accounts", "0002_roles_invitations_audit"),
        ("participants", "0006_list_order"),
        ("programs", "0010_rules_kinds_triggers"),
    ]

    # The advocates list, newest first: one page read from the index.
    operations = [
        migrations.AddIndex(
            model_name="advocate",
            index=models.Index(
                fields=["workspace", "created_at", "id"], name="participant_workspa_a82981_idx"
            ),
        ),
    ]
