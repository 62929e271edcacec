"""What commissions does when the apps below it report a change (connected in CommissionsConfig.ready)."""

from __future__ import annotations

from typing import Any

from commissions.services import commission_forfeit
from distribution.auth import Actor
from merchants.models import DistributionProgram, Merchant


def forfeit_under_policy(
    sender: object, *, merchant: Merchant, actor: Actor, distributor_ids: list[int], reason: str, **kwargs: Any
) -> None:
    """What blacklisting does to commission not yet paid: the program freezes it (settlement holds it until
    the merchant decides) or forfeits it (reversed back to the merchant at once)."""
    program = DistributionProgram.objects.for_merchant(merchant).get()
    if program.blacklist_commission_policy != DistributionProgram.BlacklistCommissionPolicy.FORFEIT:
        return
    for distributor_id in distributor_ids:
        commission_forfeit(
            merchant=merchant, actor=actor, distributor_id=distributor_id, reason=f"blacklisted: {reason}"
        )
