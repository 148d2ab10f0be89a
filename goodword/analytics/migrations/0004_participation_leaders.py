from django.db import migrations, models


class Migration(migrations.Migration):
    dependencies = [("analytics", "0003_median_tiers_segments")]

    operations: list[migrations.operations.base.Operation] = [
        migrations.CreateModel(
            name="ParticipantFact",
            fields=[
                ("participant_id", models.BigIntegerField(primary_key=True, serialize=False)),
                ("workspace_id", models.BigIntegerField()),
                ("test", models.BooleanField()),
                ("base_on", models.DateField()),
                ("known_on", models.DateField()),
                ("advocate_on", models.DateField(null=True)),
                ("referring_on", models.DateField(null=True)),
            ],
            options={
                "indexes": [
                    models.Index(
                        fields=["workspace_id", "base_on"], name="analytics_p_workspa_d3ae3b_idx"
                    ),
                    models.Index(
                        fields=["workspace_id", "known_on"], name="analytics_p_workspa_4a58a0_idx"
                    ),
                    models.Index(
                        fields=["workspace_id", "advocate_on"],
                        name="analytics_p_workspa_f9155a_idx",
                    ),
                    models.Index(
                        fields=["workspace_id", "referring_on"],
                        name="analytics_p_workspa_6014cd_idx",
                    ),
                ],
            },
        ),
        migrations.CreateModel(
            name="ParticipantDay",
            fields=[
                (
                    "id",
                    models.BigAutoField(
                        auto_created=True, primary_key=True, serialize=False, verbose_name="ID"
                    ),
                ),
                ("workspace_id", models.BigIntegerField()),
                ("day", models.DateField()),
                ("known", models.BigIntegerField()),
                ("based", models.BigIntegerField()),
                ("advocates", models.BigIntegerField()),
                ("referring", models.BigIntegerField()),
            ],
            options={
                "indexes": [
                    models.Index(
                        fields=["workspace_id", "day"], name="analytics_p_workspa_2bab8e_idx"
                    )
                ],
            },
        ),
        migrations.CreateModel(
            name="EnrolledDay",
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
                ("enrolled", models.BigIntegerField()),
                ("referring", models.BigIntegerField()),
                ("early", models.BigIntegerField()),
            ],
            options={
                "indexes": [
                    models.Index(
                        fields=["workspace_id", "program_id", "day"],
                        name="analytics_e_workspa_5908ba_idx",
                    )
                ],
            },
        ),
        migrations.AddField(
            model_name="rewardfact",
            name="advocate_id",
            field=models.BigIntegerField(null=True),
        ),
        migrations.AddField(
            model_name="rewardfact",
            name="beneficiary",
            field=models.CharField(default="", max_length=16),
        ),
        migrations.AddIndex(
            model_name="rewardfact",
            index=models.Index(
                fields=["advocate_id", "day"], name="analytics_r_advocat_5e3912_idx"
            ),
        ),
        migrations.AddIndex(
            model_name="advocateday",
            index=models.Index(
                condition=models.Q(("clicks__gt", 0), ("came__gt", 0), _connector="OR"),
                fields=["workspace_id", "day", "advocate_id", "program_id"],
                name="analytics_advocateday_shared",
            ),
        ),
        migrations.AddIndex(
            model_name="advocateday",
            index=models.Index(
                fields=["workspace_id", "day"],
                include=["program_id", "advocate_id", "clicks", "came", "converted"],
                name="analytics_advocateday_ranked",
            ),
        ),
        migrations.AddIndex(
            model_name="advocatefact",
            index=models.Index(
                fields=["workspace_id", "program_id", "came_on"], name="advocate_fact_came"
            ),
        ),
        migrations.AddIndex(
            model_name="referralfact",
            index=models.Index(
                fields=["advocate_id", "converted_on"], name="referral_fact_advocate"
            ),
        ),
    ]
