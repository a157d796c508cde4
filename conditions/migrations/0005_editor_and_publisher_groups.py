"""The Editor and Publisher groups and what each may do in the admin.

Editors write drafts and submit them; publishers also publish, unpublish and
archive. Nobody but a superuser changes the official code data.
"""

from django.contrib.auth.management import create_permissions
from django.db import migrations

VIEW_CODE_DATA = ["view_chapter", "view_block", "view_code", "view_note"]
EDITOR = VIEW_CODE_DATA + [
    "view_article",
    "add_article",
    "change_article",
    "submit_article",
    "view_articlesource",
    "add_articlesource",
    "change_articlesource",
    "delete_articlesource",
    "view_historicalarticle",
    "view_historicalarticlesource",
    "view_synonym",
    "add_synonym",
    "change_synonym",
    "delete_synonym",
    "view_historicalsynonym",
]
PUBLISHER = EDITOR + ["publish_article"]
GROUPS = {"Editor": EDITOR, "Publisher": PUBLISHER}


def create_groups(apps, schema_editor):
    # Permissions are normally created after all migrations; these groups need them now.
    for app_config in apps.get_app_configs():
        app_config.models_module = True
        create_permissions(app_config, verbosity=0, apps=apps)
        app_config.models_module = None
    Group = apps.get_model("auth", "Group")
    Permission = apps.get_model("auth", "Permission")
    for name, codenames in GROUPS.items():
        group, _ = Group.objects.get_or_create(name=name)
        permissions = Permission.objects.filter(content_type__app_label="conditions", codename__in=codenames)
        missing = set(codenames) - set(permissions.values_list("codename", flat=True))
        if missing:
            raise RuntimeError(f"Permissions missing for group {name}: {sorted(missing)}")
        group.permissions.set(permissions)


def remove_groups(apps, schema_editor):
    apps.get_model("auth", "Group").objects.filter(name__in=GROUPS).delete()


class Migration(migrations.Migration):
    dependencies = [
        ("auth", "0012_alter_user_first_name_max_length"),
        ("contenttypes", "0002_remove_content_type_name"),
        ("conditions", "0004_article_history_and_illustrations"),
    ]

    operations = [migrations.RunPython(create_groups, remove_groups)]
