from django.apps import AppConfig


class DemoConfig(AppConfig):
    """The demo data (`manage.py seed_demo`): the top of the layers, imported by nothing."""

    name = "demo"
    verbose_name = "Demo data"
