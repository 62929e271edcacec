from django.apps import AppConfig


class DistributionConfig(AppConfig):
    name = "distribution"
    verbose_name = "Platform kernel"

    def ready(self) -> None:
        # what ready() wires imports models, so it is imported once the app registry is ready
        from django.db.models.signals import post_migrate

        from distribution import checks  # noqa: F401  (registers system checks)
        from distribution.rls import after_migrate

        post_migrate.connect(after_migrate, sender=self, dispatch_uid="distribution.rls.after_migrate")
