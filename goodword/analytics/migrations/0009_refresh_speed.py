from django.db import migrations


class Migration(migrations.Migration):
    dependencies = [("analytics", "0008_refresh")]

    operations: list[migrations.operations.base.Operation] = [
        # Who shared is read from SharingDay now: the index only cost every refresh its
        # writes, and PostgreSQL chose it to find an advocate's next active day, reading the
        # workspace's later days of every advocate (3 s of a refresh at a million referrals).
        migrations.RemoveIndex(model_name="advocateday", name="analytics_advocateday_shared"),
    ]
