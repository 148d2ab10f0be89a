from django.db import migrations, models


class Migration(migrations.Migration):
    dependencies = [("analytics", "0007_sharing")]

    # A refresh reads the facts of the days it sums again by these (goodword.analytics.rollups):
    # without them each read a whole table, however few rows changed.
    operations: list[migrations.operations.base.Operation] = [
        migrations.AddIndex(
            model_name="referralfact",
            index=models.Index(
                fields=["workspace_id", "program_id", "created_on"], name="referral_fact_came"
            ),
        ),
        migrations.AddIndex(
            model_name="customerfact",
            index=models.Index(fields=["workspace_id", "start_on"], name="customer_fact_start"),
        ),
        migrations.AddIndex(
            model_name="newcustomerfact",
            index=models.Index(fields=["workspace_id", "day"], name="new_customer_fact_day"),
        ),
    ]
