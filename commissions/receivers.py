"""What commissions does when the apps below it report a change (connected in CommissionsConfig.ready)."""

from __future__ import annotations

from commissions.services import commission_forfeit
from merchants.models import DistributionProgram


def forfeit_under_policy(sender, *, merchant, actor, distributor_ids: list[int], reason: str, **kwargs) -> None:
    """What blacklisting does to commission not yet paid: the program freezes it (settlement holds it until
    the merchant decides) or forfeits it (reversed back to the merchant at once)."""
    program = DistributionProgram.objects.for_merchant(merchant).get()
    if program.blacklist_commission_policy != DistributionProgram.BlacklistCommissionPolicy.FORFEIT:
        return
    for distributor_id in distributor_ids:
        commission_forfeit(
            merchant=merchant, actor=actor, distributor_id=distributor_id, reason=f"blacklisted: {reason}"
        )
