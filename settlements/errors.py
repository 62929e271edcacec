"""Error codes of settlement and withdrawals."""

from distribution.errors import Conflict, Unprocessable, ValidationFailed


class SettlementInProgress(Conflict):
    code = "settlement_in_progress"
    default_message = "A settlement run of this merchant is already pending or running."


class InsufficientBalance(Unprocessable):
    code = "insufficient_balance"
    default_message = "The available balance does not cover this amount."


class BelowMinimum(Unprocessable):
    code = "below_minimum"
    default_message = "The amount is below the program's minimum withdrawal."


class DailyLimitExceeded(Unprocessable):
    code = "daily_limit_exceeded"
    default_message = "This would exceed the daily withdrawal maximum."


class IdentityNotVerified(Unprocessable):
    code = "identity_not_verified"
    default_message = (
        "The program requires a verified real-name identity to withdraw: the distributor submits it at "
        "POST /api/v1/distributor/identity, and the merchant verifies it at "
        "POST /api/v1/distributors/{id}/identity/verify."
    )


class PayoutAccountMissing(Unprocessable):
    code = "payout_account_missing"
    default_message = "No payout account (WeChat openid) is set for this distributor."


class NothingLeftAfterFees(Unprocessable):
    code = "amount_too_small_after_fees"
    default_message = "After fees and tax nothing would be paid out."


class ProviderNotConfigured(Unprocessable):
    code = "provider_not_configured"
    default_message = "The merchant has no WeChat Pay account configured."


class InvalidAsOf(ValidationFailed):
    code = "invalid_as_of"
    default_message = "as_of cannot be in the future."


class NotManual(Conflict):
    code = "not_manual"
    default_message = "A provider payout is settled by the provider's answer, not by hand."


class PayoutAccountNotUsable(Unprocessable):
    code = "payout_account_not_usable"
    default_message = (
        "This payout account cannot be paid to: its holder's name has not been matched with the verified "
        "identity (POST /api/v1/distributor/payout-accounts/{id}/verify), nor a mismatch approved by the merchant."
    )


class PayoutAccountWrongKind(Unprocessable):
    code = "payout_account_wrong_kind"
    default_message = "The program pays through another rail than this payout account's kind."


class InvalidPayoutAccount(ValidationFailed):
    code = "invalid_payout_account"
    default_message = "The payout account's details are not valid."


class DuplicatePayoutAccount(Conflict):
    code = "duplicate_payout_account"
    default_message = "This distributor already has this payout account."


class NoMismatchToApprove(Conflict):
    code = "no_mismatch_to_approve"
    default_message = "Only a payout account whose holder's name differs from the identity needs an approval."


class PayoutAccountInUse(Conflict):
    code = "payout_account_in_use"
    default_message = "A withdrawal that is not final pays to this account; remove it once that is over."


class InvalidResultFile(ValidationFailed):
    code = "invalid_result_file"
    default_message = "The bank's result file cannot be read: a CSV or XLSX with reference, status and reason."


class ResultFileProblems(Unprocessable):
    code = "result_file_problems"
    default_message = "Some rows of the bank's result file cannot be applied; nothing was changed (see `rows`)."


class TransferSceneIncomplete(Unprocessable):
    code = "transfer_scene_incomplete"
    default_message = (
        "The merchant's WeChat Pay transfer scene lacks its report infos or receipt wording, which WeChat "
        "requires on every transfer: a platform operator completes them in the WeChat Pay account settings."
    )


class AboveTransferMaximum(Unprocessable):
    code = "above_transfer_maximum"
    default_message = (
        "WeChat Pay transfers this merchant's payees at most the account's per-transfer maximum at a time: "
        "withdraw that much or less (several withdrawals may be made, within the daily limit)."
    )


class NotFlagged(Conflict):
    code = "not_flagged"
    default_message = "Only a transfer flagged for a person (needs_attention) is settled by hand."
