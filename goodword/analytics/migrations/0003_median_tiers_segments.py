from django.db import migrations, models


class Migration(migrations.Migration):
    dependencies = [("analytics", "0002_customers")]

    operations: list[migrations.operations.base.Operation] = [
        migrations.CreateModel(
            name="TookDay",
            fields=[
                ("id", models.BigAutoField(auto_created=True, primary_key=True, serialize=False, verbose_name="ID")),
                ("workspace_id", models.BigIntegerField()),
                ("program_id", models.BigIntegerField()),
                ("day", models.DateField()),
                ("step", models.SmallIntegerField()),
                ("count", models.BigIntegerField()),
            ],
        ),
        migrations.AddField(
            model_name="advocatefact",
            name="segment",
            field=models.TextField(null=True),
        ),
        migrations.AddField(
            model_name="advocatefact",
            name="tier",
            field=models.TextField(default=""),
        ),
        migrations.AddField(
            model_name="referralfact",
            name="took_step",
            field=models.SmallIntegerField(null=True),
        ),
        migrations.AddField(
            model_name="referralfact",
            name="took_us",
            field=models.BigIntegerField(null=True),
        ),
        migrations.AddIndex(
            model_name="advocatefact",
            index=models.Index(condition=models.Q(("segment__isnull", False)), fields=["workspace_id", "program_id"], name="advocate_fact_segmented"),
        ),
        migrations.AddIndex(
            model_name="referralfact",
            index=models.Index(fields=["workspace_id", "took_step", "converted_on", "program_id", "took_us"], name="referral_fact_took"),
        ),
        migrations.AddIndex(
            model_name="rewardfact",
            index=models.Index(fields=["workspace_id", "day"], name="analytics_r_workspa_1515fa_idx"),
        ),
        migrations.AddIndex(
            model_name="tookday",
            index=models.Index(fields=["workspace_id", "day"], name="analytics_t_workspa_be0e01_idx"),
        ),
    ]
