from django.apps import AppConfig


class CommissionsConfig(AppConfig):
    name = "commissions"

    def ready(self) -> None:
        # receivers import models, so they are connected once the app registry is ready
        from commissions.receivers import forfeit_under_policy
        from distributors.signals import distributors_blacklisted

        distributors_blacklisted.connect(forfeit_under_policy, dispatch_uid="commissions.forfeit_under_policy")
