from django.db import migrations


class Migration(migrations.Migration):
    dependencies = [
        ("conditions", "0013_code_inclusion_trigram"),
        ("conditions", "0013_page_data_once_per_import"),
    ]

    operations = []
