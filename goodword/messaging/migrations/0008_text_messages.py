from django.db import migrations, models


class Migration(migrations.Migration):
    dependencies = [
        ("messaging", "0007_journey_choices"),
    ]

    operations = [
        migrations.AddField(
            model_name="journeysetting",
            name="sms",
            field=models.BooleanField(default=False),
        ),
        migrations.AddField(
            model_name="messagingsettings",
            name="sms_enabled",
            field=models.BooleanField(default=False),
        ),
        migrations.AddIndex(
            model_name="message",
            index=models.Index(
                condition=models.Q(("channel", "sms")), fields=["to"], name="message_sms_to"
            ),
        ),
    ]
