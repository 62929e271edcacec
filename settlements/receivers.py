"""What settlements does when the apps below it report a change (connected in SettlementsConfig.ready)."""

from __future__ import annotations

from typing import Any

from merchants.models import DistributionProgram, Merchant
from settlements.services.split_window import program_window_check


def refuse_programs_outside_the_split_window(
    sender: object, *, merchant: Merchant, program: DistributionProgram, **kwargs: Any
) -> None:
    """Program settings that pay through WeChat profit sharing must fit WeChat's freeze period."""
    program_window_check(merchant=merchant, program=program)
