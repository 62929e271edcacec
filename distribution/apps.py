from django.apps import AppConfig


class DistributionConfig(AppConfig):
    name = "distribution"
    verbose_name = "Platform kernel"

    def ready(self) -> None:
        from distribution import checks  # noqa: F401  (registers system checks)
