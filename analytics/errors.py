"""Error codes of the analytics (the merchant's and the distributor's figures)."""

from distribution.errors import ValidationFailed


class InvalidDateRange(ValidationFailed):
    code = "invalid_date_range"
    default_message = "`date_from` is after `date_to`."


class DateRangeTooLong(ValidationFailed):
    code = "date_range_too_long"
    default_message = "A date range covers at most 731 days (two years)."


class DateInFuture(ValidationFailed):
    code = "date_in_future"
    default_message = "A date is after today in the merchant's time zone: figures of the future do not exist yet."


class UnknownMetric(ValidationFailed):
    code = "unknown_metric"
    default_message = "No such metric for this endpoint: the schema lists the metrics it answers."


class UnsupportedRanking(ValidationFailed):
    code = "unsupported_ranking"
    default_message = "This leaderboard dimension cannot be ranked by that figure (conversion ranks distributors only)."
