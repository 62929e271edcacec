from __future__ import annotations

from django.db import models
from django.db.models import Q

from distribution.tenancy import TenantModel


class RiskFlag(TenantModel):
    """A risk rule's hit, with its evidence, for the merchant to review (accept, dismiss, blacklist).

    `subject` names what the rule looked at (a distributor, a shared phone, a customer); a rule raises at
    most one open flag per subject, so the periodic sweep can run as often as it likes.
    """

    class Rule(models.TextChoices):
        SHARED_IDENTITY = "shared_identity", "One phone or ID number shared by several distributors"
        REFUND_RATE = "refund_rate", "Refund rate far above the merchant's normal"
        SELF_PURCHASE_BURST = "self_purchase_burst", "A burst of self-purchases"
        CUSTOMER_SWITCHING = "customer_switching", "A customer repeatedly switched between distributors"
        APPLICATION = "application", "Application check"

    class Status(models.TextChoices):
        OPEN = "open"
        ACCEPTED = "accepted", "Accepted (the merchant knows; no action)"
        DISMISSED = "dismissed", "Dismissed (false alarm)"
        BLACKLISTED = "blacklisted", "The distributor was blacklisted"

    rule = models.CharField(max_length=24, choices=Rule.choices)
    subject = models.CharField(max_length=120)
    distributor = models.ForeignKey(
        "distributors.Distributor", on_delete=models.CASCADE, null=True, blank=True, related_name="risk_flags"
    )
    evidence = models.JSONField(default=dict)
    status = models.CharField(max_length=12, choices=Status.choices, default=Status.OPEN)
    review_note = models.CharField(max_length=500, blank=True)
    reviewed_by = models.CharField(max_length=150, blank=True)
    reviewed_at = models.DateTimeField(null=True, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        constraints = [
            models.UniqueConstraint(
                fields=["merchant", "rule", "subject"], condition=Q(status="open"), name="riskflag_one_open_per_subject"
            ),
        ]
        indexes = [models.Index(fields=["merchant", "status", "-id"], name="riskflag_status")]

    def __str__(self) -> str:
        return f"{self.rule} {self.subject} ({self.status})"
