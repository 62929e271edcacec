"""Builders for the distributor network, through the real services."""

from __future__ import annotations

from distribution.auth import Actor
from distributors.models import Application, Distributor
from distributors.services import applications

ACTOR = Actor.system("tests")


def join(merchant, external_user_id: str, inviter: Distributor | None = None, **kwargs) -> Distributor:
    """Apply (auto-approved by default) and return the distributor, fresh from the database."""
    application = applications.application_submit(
        merchant=merchant,
        actor=ACTOR,
        external_user_id=external_user_id,
        channel=Application.Channel.SERVER,
        invite_code=inviter.invite_code if inviter else "",
        display_name=kwargs.pop("display_name", external_user_id),
        **kwargs,
    )
    return Distributor.objects.for_merchant(merchant).get(pk=application.distributor_id)


def tree(merchant, spec: dict[str, str | None]) -> dict[str, Distributor]:
    """{"a": None, "b": "a", "c": "b"} -> distributors named by key, each invited by the named parent."""
    made: dict[str, Distributor] = {}
    for name, parent in spec.items():
        made[name] = join(merchant, name, made[parent] if parent else None)
    return {name: Distributor.objects.for_merchant(merchant).get(pk=d.pk) for name, d in made.items()}


# A valid resident ID number (checksum included) for tests; not a real person's.
VALID_ID = "11010519491231002X"
OTHER_VALID_ID = "110101199003070011"
