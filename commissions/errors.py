"""Error codes of commission."""

from distribution.errors import Conflict


class NotBlacklisted(Conflict):
    code = "not_blacklisted"
    default_message = "Only a blacklisted distributor's commission can be forfeited."
