from django.db import migrations, models


class Migration(migrations.Migration):
    dependencies = [("analytics", "0006_experiments")]

    operations: list[migrations.operations.base.Operation] = [
        migrations.CreateModel(
            name="SharingDay",
            fields=[
                ("id", models.BigAutoField(auto_created=True, primary_key=True, serialize=False, verbose_name="ID")),
                ("workspace_id", models.BigIntegerField()),
                ("program_id", models.BigIntegerField()),
                ("day", models.DateField()),
                ("prev", models.DateField(null=True)),
                ("count", models.BigIntegerField()),
            ],
            options={
                "indexes": [
                    models.Index(
                        fields=["workspace_id", "day"],
                        include=("program_id", "prev", "count"),
                        name="sharing_day_period",
                    )
                ],
                "abstract": False,
            },
        ),
        migrations.CreateModel(
            name="AdvocateTotal",
            fields=[
                ("id", models.BigAutoField(auto_created=True, primary_key=True, serialize=False, verbose_name="ID")),
                ("workspace_id", models.BigIntegerField()),
                ("program_id", models.BigIntegerField()),
                ("advocate_id", models.BigIntegerField()),
                ("clicks", models.BigIntegerField()),
                ("came", models.BigIntegerField()),
                ("converted", models.BigIntegerField()),
            ],
            options={
                "indexes": [
                    models.Index(fields=["advocate_id"], name="advocate_total_advocate"),
                    models.Index(
                        fields=["workspace_id", "converted", "came", "clicks"],
                        include=("advocate_id",),
                        name="advocate_total_ranked",
                    ),
                    models.Index(
                        fields=["workspace_id", "program_id", "converted", "came", "clicks"],
                        include=("advocate_id",),
                        name="advocate_total_program",
                    ),
                ],
                "abstract": False,
            },
        ),
        migrations.AddIndex(
            model_name="advocateday",
            index=models.Index(
                condition=models.Q(("converted__gt", 0)),
                fields=["workspace_id", "day"],
                include=("program_id", "advocate_id", "converted"),
                name="advocate_day_converted",
            ),
        ),
        migrations.CreateModel(
            name='SegmentAdvocate',
            fields=[
                ('advocate_id', models.BigIntegerField(primary_key=True, serialize=False)),
                ('tier', models.TextField()),
                ('segment', models.TextField(null=True)),
            ],
            options={
                'abstract': False,
            },
        ),
        migrations.CreateModel(
            name='SegmentCostDay',
            fields=[
                ('id', models.BigAutoField(auto_created=True, primary_key=True, serialize=False, verbose_name='ID')),
                ('workspace_id', models.BigIntegerField()),
                ('program_id', models.BigIntegerField(null=True)),
                ('day', models.DateField()),
                ('tier', models.TextField()),
                ('segment', models.TextField()),
                ('status', models.CharField(max_length=24)),
                ('kind', models.CharField(max_length=16)),
                ('currency', models.CharField(max_length=3)),
                ('count', models.BigIntegerField()),
                ('unvalued', models.BigIntegerField()),
                ('amount', models.BigIntegerField()),
            ],
            options={
                'indexes': [models.Index(fields=['workspace_id', 'day'], name='segment_cost_period')],
            },
        ),
        migrations.CreateModel(
            name='SegmentDay',
            fields=[
                ('id', models.BigAutoField(auto_created=True, primary_key=True, serialize=False, verbose_name='ID')),
                ('workspace_id', models.BigIntegerField()),
                ('program_id', models.BigIntegerField()),
                ('day', models.DateField()),
                ('tier', models.TextField()),
                ('segment', models.TextField()),
                ('clicks', models.BigIntegerField()),
                ('came', models.BigIntegerField()),
                ('converted', models.BigIntegerField()),
            ],
            options={
                'indexes': [models.Index(fields=['workspace_id', 'day'], name='segment_day_period')],
            },
        ),
        migrations.CreateModel(
            name='SegmentRevenueDay',
            fields=[
                ('id', models.BigAutoField(auto_created=True, primary_key=True, serialize=False, verbose_name='ID')),
                ('workspace_id', models.BigIntegerField()),
                ('program_id', models.BigIntegerField()),
                ('day', models.DateField()),
                ('tier', models.TextField()),
                ('segment', models.TextField()),
                ('currency', models.CharField(max_length=3)),
                ('orders', models.BigIntegerField()),
                ('gross', models.BigIntegerField()),
                ('refunded', models.BigIntegerField()),
            ],
            options={
                'indexes': [models.Index(fields=['workspace_id', 'day'], name='segment_revenue_period')],
            },
        ),
    ]
