from distribution.errors import ApplicationError, Conflict, PermissionDenied, Unprocessable, ValidationFailed


class InvalidCredentials(ApplicationError):
    status_code = 401
    code = "invalid_credentials"
    default_message = "Unknown username or wrong password."


class NotStaff(ApplicationError):
    """The password was right, but the account is no active merchant's staff (or not that merchant's)."""

    status_code = 403
    code = "not_staff"
    default_message = (
        "This account is not staff of any active merchant. Staff join by invitation "
        "(POST /api/v1/auth/invitations/accept); platform operators sign in at /admin/."
    )


class MerchantRequired(ValidationFailed):
    code = "merchant_required"
    default_message = "You belong to several merchants: say which one."


class RoleNotGrantable(PermissionDenied):
    code = "role_not_grantable"
    default_message = "Your role cannot grant this role, so it cannot give, change, revoke or remove it."


class LastOwner(Conflict):
    code = "last_owner"
    default_message = "A merchant must keep at least one owner."


class AlreadyMember(Conflict):
    code = "already_member"
    default_message = "This user is already a member of the merchant."


class CommissionDepthNotAllowed(Unprocessable):
    code = "commission_depth_not_allowed"
    default_message = "Commission depth is at most 3: paying deeper levels is treated as pyramid selling."


class InvitationInvalid(ValidationFailed):
    """Unknown, wrong, expired, revoked and already used all answer the same."""

    code = "invitation_invalid"
    default_message = "This invitation is unknown, expired, revoked or already used."

    def __init__(self):
        super().__init__(fields={"token": [self.default_message]})


class UsernameTaken(Conflict):
    code = "username_taken"
    default_message = "This merchant already has an account with this name: choose another."


class NotAStaffToken(ValidationFailed):
    code = "not_a_staff_token"
    default_message = "Only a staff token can be revoked here."


class NotASession(ValidationFailed):
    code = "not_a_session"
    default_message = "Only a browser session can switch merchant."


class CannotRevokeSelf(PermissionDenied):
    code = "cannot_revoke_self"
    default_message = "A key cannot revoke itself."


class MerchantSuspended(PermissionDenied):
    """Raised where a suspended merchant's work is refused outside authentication (the signed webhook, the
    ingest task); authentication answers the same code through DRF (merchants/authentication.py)."""

    code = "merchant_suspended"
    default_message = "This merchant is suspended."


class ProfitSharingWindowExceeded(Unprocessable):
    code = "profit_sharing_window_exceeded"
    default_message = (
        "With WeChat profit sharing, commission must be split while WeChat still holds the payment (the "
        "merchant's WeChat account's profit_sharing_freeze_days after payment, 30 for ordinary merchants): "
        "the after-sales days plus the longest wait for the next scheduled settlement plus one day must fit in it."
    )
