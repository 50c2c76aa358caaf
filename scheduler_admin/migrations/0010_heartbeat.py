# Issue 14: the scheduler's heartbeat row (readiness and metrics). The lead renumbers.

from django.db import migrations, models


class Migration(migrations.Migration):

    dependencies = [
        ('scheduler_admin', '0009_alerts'),
    ]

    operations = [
        migrations.CreateModel(
            name='Heartbeat',
            fields=[
                ('name', models.CharField(max_length=32, primary_key=True, serialize=False)),
                ('beat_at', models.DateTimeField()),
                ('passes', models.PositiveIntegerField(default=0)),
                ('max_pass_ms', models.PositiveIntegerField(default=0)),
                ('last_pass_ms', models.PositiveIntegerField(default=0)),
                ('process', models.CharField(blank=True, help_text='host:pid of the beater.', max_length=160)),
            ],
            options={
                'db_table': 'agno_heartbeats',
            },
        ),
    ]
