from django.db import migrations

ROLES = ["viewer", "operator", "admin"]


def create(apps, schema_editor):
    Target = apps.get_model("scheduler_admin", "Target")
    Group = apps.get_model("auth", "Group")
    Target.objects.get_or_create(
        name="local",
        defaults={"base_url": "", "description": "The built-in in-process runtime."},
    )
    for role in ROLES:
        Group.objects.get_or_create(name=role)


def remove(apps, schema_editor):
    apps.get_model("auth", "Group").objects.filter(name__in=ROLES).delete()


class Migration(migrations.Migration):
    dependencies = [
        ("scheduler_admin", "0001_initial"),
        ("auth", "0012_alter_user_first_name_max_length"),
    ]

    operations = [migrations.RunPython(create, remove)]
