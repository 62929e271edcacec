"""The withdrawal list's filters, shared by the list (settlements/api) and its export (exports/)."""

from __future__ import annotations

from distribution.api.filters import FilterSet
from settlements.models import Withdrawal


class WithdrawalFilter(FilterSet):
    class Meta:
        model = Withdrawal
        fields = ["status", "distributor", "provider", "batch", "needs_attention"]
