from django.db import migrations, models


class Migration(migrations.Migration):
    dependencies = [("analytics", "0009_refresh_speed")]

    operations: list[migrations.operations.base.Operation] = [
        # The short period's leaderboard from the index alone on SQLite too, which builds an
        # index without its INCLUDE columns and so read each day's row.
        migrations.RemoveIndex(model_name="advocateday", name="advocate_day_converted"),
        migrations.AddIndex(
            model_name="advocateday",
            index=models.Index(
                fields=["workspace_id", "day", "program_id", "advocate_id", "converted"],
                condition=models.Q(converted__gt=0),
                name="advocate_day_converted",
            ),
        ),
    ]
