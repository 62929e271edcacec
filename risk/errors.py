from distribution.errors import Conflict, Unprocessable


class FlagAlreadyReviewed(Conflict):
    code = "flag_already_reviewed"
    default_message = "This flag has been reviewed already."


class NoDistributorToBlacklist(Unprocessable):
    code = "no_distributor"
    default_message = "This flag names no distributor to blacklist."
