from django.apps import AppConfig


class SettlementsConfig(AppConfig):
    name = "settlements"

    def ready(self) -> None:
        # receivers import models, so they are connected once the app registry is ready
        from merchants.signals import program_validating
        from settlements.receivers import refuse_programs_outside_the_split_window

        program_validating.connect(refuse_programs_outside_the_split_window, dispatch_uid="settlements.split_window")
