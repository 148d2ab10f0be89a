from django.db import migrations, models

# The totals of the facts already rolled up, so that an upgraded database reads them without a
# rebuild (`rollup_experiments.advocate_totals`, as it was written then).
ARM = "CASE WHEN variant = 'holdout' THEN 'holdout' ELSE '' END"
FILL = f"""INSERT INTO analytics_experimenttotal (workspace_id, program_id, advocate_id, kind,
  variant, currency, value)
SELECT workspace_id, program_id, advocate_id, 'friends', variant, '', COUNT(*)
FROM analytics_referralfact WHERE came AND variant <> '' AND live
GROUP BY workspace_id, program_id, advocate_id, variant
UNION ALL
SELECT workspace_id, program_id, advocate_id, 'customers', {ARM}, '',
  SUM(CASE WHEN prev_at IS NULL THEN 1 ELSE 0 END)
FROM analytics_boughtfact GROUP BY workspace_id, program_id, advocate_id, {ARM}
UNION ALL
SELECT workspace_id, program_id, advocate_id, 'revenue', {ARM}, currency, SUM(net)
FROM analytics_boughtfact WHERE net IS NOT NULL AND currency <> ''
GROUP BY workspace_id, program_id, advocate_id, {ARM}, currency"""  # noqa: S608 - fixed SQL


class Migration(migrations.Migration):
    dependencies = [("analytics", "0010_sqlite_reads")]

    operations: list[migrations.operations.base.Operation] = [
        migrations.CreateModel(
            name="ExperimentTotal",
            fields=[
                (
                    "id",
                    models.BigAutoField(
                        auto_created=True, primary_key=True, serialize=False, verbose_name="ID"
                    ),
                ),
                ("workspace_id", models.BigIntegerField()),
                ("program_id", models.BigIntegerField()),
                ("advocate_id", models.BigIntegerField()),
                ("kind", models.CharField(max_length=16)),
                ("variant", models.CharField(max_length=100)),
                ("currency", models.CharField(max_length=3)),
                ("value", models.BigIntegerField()),
            ],
            options={
                "indexes": [
                    models.Index(
                        fields=[
                            "workspace_id",
                            "program_id",
                            "kind",
                            "variant",
                            "currency",
                            "value",
                        ],
                        name="experiment_total_kind",
                    ),
                    models.Index(fields=["advocate_id"], name="experiment_total_advocate"),
                ],
            },
        ),
        migrations.RunSQL(FILL, migrations.RunSQL.noop),
        # The planner's statistics of the table just filled (SQLite never gathers them by
        # itself; PostgreSQL by autovacuum, when it is on). On PostgreSQL its visibility map
        # waits for a VACUUM, which cannot run in a migration's transaction: until then its
        # reads visit the table's pages (the experiment page 160-290 ms instead of 95 at a
        # million referrals; docs/operations.md).
        migrations.RunSQL("ANALYZE analytics_experimenttotal", migrations.RunSQL.noop),
    ]
