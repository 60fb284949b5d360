# IdempotencyKey now belongs to core (core/migrations/0001_initial.py takes the
# table over); here it leaves disbursements' migration state only.

from django.db import migrations


class Migration(migrations.Migration):

    dependencies = [
        ("core", "0001_initial"),
        ("disbursements", "0008_money_guards"),
    ]

    operations = [
        migrations.SeparateDatabaseAndState(
            state_operations=[migrations.DeleteModel(name="IdempotencyKey")],
        ),
    ]
