from __future__ import annotations

from django.db import models
from rest_framework_api_key.models import AbstractAPIKey

from distribution.tenancy import TenantModel
from merchants.models import CredentialManager


class DistributorToken(TenantModel, AbstractAPIKey):
    """A credential for one of the merchant's app users, issued by the merchant's server.

    The merchant authenticates the person in its own app, then asks for a token for that
    `external_user_id`; distributor endpoints accept only these tokens.
    """

    external_user_id = models.CharField(max_length=64)
    last_used_at = models.DateTimeField(null=True, blank=True)

    objects = CredentialManager()

    class Meta(AbstractAPIKey.Meta):
        indexes = [models.Index(fields=["merchant", "external_user_id"], name="disttoken_user")]
        verbose_name = "distributor token"
