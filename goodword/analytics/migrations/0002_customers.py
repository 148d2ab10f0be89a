from django.db import migrations, models


class Migration(migrations.Migration):
    dependencies = [("analytics", "0001_rollups")]

    operations = [
        migrations.CreateModel(
            name="CohortDay",
            fields=[
                ("id", models.BigAutoField(auto_created=True, primary_key=True, serialize=False, verbose_name="ID")),
                ("workspace_id", models.BigIntegerField()),
                ("program_id", models.BigIntegerField(null=True)),
                ("referred", models.BooleanField()),
                ("currency", models.CharField(max_length=3)),
                ("start_on", models.DateField()),
                ("first_on", models.DateField()),
                ("month", models.DateField()),
                ("customers", models.BigIntegerField()),
                ("orders", models.BigIntegerField()),
                ("gross", models.BigIntegerField()),
                ("refunded", models.BigIntegerField()),
            ],
        ),
        migrations.CreateModel(
            name="CustomerFact",
            fields=[
                ("id", models.BigAutoField(auto_created=True, primary_key=True, serialize=False, verbose_name="ID")),
                ("workspace_id", models.BigIntegerField()),
                ("program_id", models.BigIntegerField(null=True)),
                ("referred", models.BooleanField()),
                ("customer", models.CharField(max_length=255)),
                ("currency", models.CharField(max_length=3)),
                ("start_on", models.DateField()),
                ("first_on", models.DateField()),
                ("month", models.DateField()),
                ("customers", models.BigIntegerField()),
                ("orders", models.BigIntegerField()),
                ("gross", models.BigIntegerField()),
                ("refunded", models.BigIntegerField()),
            ],
        ),
        migrations.CreateModel(
            name="NewCustomerDay",
            fields=[
                ("id", models.BigAutoField(auto_created=True, primary_key=True, serialize=False, verbose_name="ID")),
                ("workspace_id", models.BigIntegerField()),
                ("program_id", models.BigIntegerField(null=True)),
                ("referred", models.BooleanField()),
                ("day", models.DateField()),
                ("customers", models.BigIntegerField()),
            ],
        ),
        migrations.CreateModel(
            name="NewCustomerFact",
            fields=[
                ("id", models.BigAutoField(auto_created=True, primary_key=True, serialize=False, verbose_name="ID")),
                ("participant_id", models.BigIntegerField()),
                ("workspace_id", models.BigIntegerField()),
                ("program_id", models.BigIntegerField(null=True)),
                ("referred", models.BooleanField()),
                ("day", models.DateField()),
            ],
        ),
        migrations.AddIndex(
            model_name="purchasefact",
            index=models.Index(fields=["workspace_id", "customer"], name="analytics_p_workspa_46b421_idx"),
        ),
        migrations.AddIndex(
            model_name="cohortday",
            index=models.Index(fields=["workspace_id", "program_id", "start_on"], name="analytics_c_workspa_343f9a_idx"),
        ),
        migrations.AddIndex(
            model_name="customerfact",
            index=models.Index(fields=["workspace_id", "customer"], name="analytics_c_workspa_d9ec48_idx"),
        ),
        migrations.AddIndex(
            model_name="newcustomerday",
            index=models.Index(fields=["workspace_id", "day"], name="analytics_n_workspa_685624_idx"),
        ),
        migrations.AddIndex(
            model_name="newcustomerfact",
            index=models.Index(fields=["participant_id"], name="analytics_n_partici_f84779_idx"),
        ),
    ]
