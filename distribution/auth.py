"""Who is calling: every authenticated API request carries a `Principal` as `request.auth`.

Authentication classes (merchants.authentication, distributors.authentication) build it from the
credentials; the merchant always comes from here, never from the URL or the body.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from distribution.tenancy import Tenant


@dataclass(frozen=True)
class Actor:
    """The author of a change, as recorded in audit events."""

    kind: str  # staff | api_key | distributor | system | operator
    id: str = ""
    label: str = ""

    @classmethod
    def system(cls, label: str = "system") -> Actor:
        return cls(kind="system", id="", label=label)


@dataclass(frozen=True)
class Principal:
    kind: str  # staff | api_key | distributor
    merchant: Tenant
    actor: Actor
    role: str | None = None  # staff and API keys
    external_user_id: str | None = None  # distributor tokens
    credential_id: str | None = None
    permissions: frozenset[str] = field(default_factory=frozenset)

    @property
    def idempotency_scope(self) -> str:
        return f"{self.actor.kind}:{self.actor.id}"

    def has_permission(self, permission: str) -> bool:
        return permission in self.permissions
