"""Error codes of the distributor network."""

from distribution.errors import Conflict, NotFound, Unprocessable, ValidationFailed


class InvalidInviteCode(Unprocessable):
    code = "invalid_invite_code"
    default_message = "No distributor of this merchant has that invite code."


class SelfInvite(Unprocessable):
    code = "self_invite"
    default_message = "A distributor cannot invite themselves."


class InviteCycle(Unprocessable):
    code = "invite_cycle"
    default_message = "This inviter is in the distributor's own team: the invite tree cannot loop."


class InviterNotActive(Unprocessable):
    code = "inviter_not_active"
    default_message = "The inviter is not an active distributor."


class AlreadyApplied(Conflict):
    code = "already_applied"
    default_message = "This person has already applied or is already a distributor."


class DistributorRemoved(Conflict):
    code = "distributor_removed"
    default_message = "This person was removed from the program and cannot apply again."


class ApplicantBlacklisted(Unprocessable):
    code = "applicant_blacklisted"
    default_message = "This applicant is on the merchant's blacklist."


class AgreementRequired(Unprocessable):
    code = "agreement_not_accepted"
    default_message = "The current distributor agreement must be accepted."


class IdentityRequired(Unprocessable):
    code = "identity_required"
    default_message = "The program requires the applicant's real name and ID number."


class InvalidIdNumber(ValidationFailed):
    code = "invalid_id_number"
    default_message = "This is not a valid ID number."


class InvalidEntry(Unprocessable):
    code = "invalid_recruitment_entry"
    default_message = "No active recruitment entry has that code."


class NotADistributor(NotFound):
    code = "not_a_distributor"
    default_message = "You are not a distributor of this merchant (yet)."


class DistributorNotActive(Conflict):
    code = "distributor_not_active"
    default_message = "The distributor is not active."


class InvalidShareCode(Unprocessable):
    code = "invalid_share_code"
    default_message = "No distributor of this merchant has that share code."


class SelfBindingNotAllowed(Unprocessable):
    code = "self_binding_not_allowed"
    default_message = "A distributor cannot be their own customer unless self-purchase commission is on."


class CustomerBoundElsewhere(Conflict):
    code = "customer_bound_elsewhere"
    default_message = "The customer is bound to another distributor (first touch keeps the customer)."


class BindingProtected(Conflict):
    code = "binding_protected"
    default_message = "The customer's binding is in its protection period."


class VisitReplayMismatch(Conflict):
    code = "visit_id_reused"
    default_message = "This visit id was already reported with different details."


class LevelInUse(Conflict):
    code = "level_in_use"
    default_message = "Distributors are on this level; move them first."


class DefaultLevelRequired(Conflict):
    code = "default_level_required"
    default_message = "The default level cannot be deleted; make another level the default first."


class StillBlacklisted(Conflict):
    code = "still_blacklisted"
    default_message = "A live blacklist entry still matches this distributor."


class AlreadyBlacklisted(Conflict):
    code = "already_blacklisted"
    default_message = "A live blacklist entry for this value exists."


class AgreementNotCurrent(ValidationFailed):
    code = "agreement_not_current"
    default_message = "Only the current agreement can be accepted."


class AgreementVersionExists(Conflict):
    code = "agreement_version_exists"
    default_message = "This agreement version exists already."


class CodeExhausted(Conflict):
    code = "code_exhausted"
    default_message = "Could not allocate a code; try again."


class IdentityMissing(Conflict):
    code = "identity_missing"
    default_message = "No identity has been submitted."
