from django.db import migrations, models


class Migration(migrations.Migration):
    dependencies = [("analytics", "0005_attribution")]

    operations = [
        migrations.CreateModel(
            name="BoughtWindow",
            fields=[
                ("program_id", models.BigIntegerField(primary_key=True, serialize=False)),
                ("days", models.IntegerField()),
            ],
            options={
                "abstract": False,
            },
        ),
        migrations.CreateModel(
            name="BoughtFact",
            fields=[
                (
                    "id",
                    models.BigAutoField(
                        auto_created=True, primary_key=True, serialize=False, verbose_name="ID"
                    ),
                ),
                ("referral_id", models.BigIntegerField()),
                ("event_id", models.BigIntegerField()),
                ("workspace_id", models.BigIntegerField()),
                ("program_id", models.BigIntegerField()),
                ("advocate_id", models.BigIntegerField()),
                ("variant", models.CharField(max_length=100)),
                ("at", models.DateTimeField()),
                ("prev_at", models.DateTimeField(null=True)),
                ("currency", models.CharField(max_length=3)),
                ("net", models.BigIntegerField(null=True)),
            ],
            options={
                "indexes": [
                    models.Index(fields=["referral_id"], name="analytics_b_referra_ac1865_idx"),
                    models.Index(
                        fields=["workspace_id", "program_id", "at"],
                        include=("advocate_id", "variant", "prev_at", "currency", "net"),
                        name="bought_fact_period",
                    ),
                ],
            },
        ),
        migrations.CreateModel(
            name="ExperimentDay",
            fields=[
                (
                    "id",
                    models.BigAutoField(
                        auto_created=True, primary_key=True, serialize=False, verbose_name="ID"
                    ),
                ),
                ("workspace_id", models.BigIntegerField()),
                ("program_id", models.BigIntegerField()),
                ("day", models.DateField()),
                ("variant", models.CharField(max_length=100)),
                ("currency", models.CharField(max_length=3)),
                ("orders", models.BigIntegerField()),
                ("revenue", models.BigIntegerField()),
                ("rewards", models.BigIntegerField()),
                ("cost", models.BigIntegerField()),
            ],
            options={
                "indexes": [
                    models.Index(
                        fields=["workspace_id", "program_id", "day"],
                        name="analytics_e_workspa_9979a5_idx",
                    )
                ],
            },
        ),
        migrations.AddIndex(
            model_name="referralfact",
            index=models.Index(
                condition=models.Q(("came", True), models.Q(("variant", ""), _negated=True)),
                fields=["workspace_id", "program_id", "created_on"],
                include=("advocate_id", "variant", "live"),
                name="referral_fact_experiment",
            ),
        ),
    ]
