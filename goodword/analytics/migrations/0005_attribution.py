from django.db import migrations, models


class Migration(migrations.Migration):
    dependencies = [("analytics", "0004_participation_leaders"), ("referrals", "0008_list_order")]

    operations: list[migrations.operations.base.Operation] = [
        migrations.CreateModel(
            name="AttributionDay",
            fields=[
                ("id", models.BigAutoField(auto_created=True, primary_key=True, serialize=False, verbose_name="ID")),
                ("workspace_id", models.BigIntegerField()),
                ("program_id", models.BigIntegerField()),
                ("advocate_id", models.BigIntegerField()),
                ("day", models.DateField()),
                ("currency", models.CharField(max_length=3)),
                ("converted", models.BigIntegerField()),
                ("orders", models.BigIntegerField()),
                ("revenue", models.BigIntegerField()),
            ],
            options={
                "indexes": [models.Index(fields=["workspace_id", "day"], name="analytics_a_workspa_a4082a_idx")],
            },
        ),
        migrations.CreateModel(
            name="AttributionFact",
            fields=[
                ("id", models.BigAutoField(auto_created=True, primary_key=True, serialize=False, verbose_name="ID")),
                ("referral_id", models.BigIntegerField()),
                ("workspace_id", models.BigIntegerField()),
                ("program_id", models.BigIntegerField()),
                ("advocate_id", models.BigIntegerField()),
                ("model", models.CharField(max_length=16)),
                ("day", models.DateField()),
                ("live", models.BooleanField()),
                ("locked", models.BooleanField()),
                ("share", models.FloatField(null=True)),
                ("currency", models.CharField(max_length=3)),
                ("revenue", models.BigIntegerField()),
            ],
            options={
                "indexes": [
                    models.Index(fields=["referral_id"], name="analytics_a_referra_2d7041_idx"),
                    models.Index(fields=["workspace_id", "model", "day"], name="analytics_a_workspa_483465_idx"),
                ],
            },
        ),
    ]
