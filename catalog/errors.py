"""Error codes of the catalogue."""

from distribution.errors import ValidationFailed


class TooManyProducts(ValidationFailed):
    code = "too_many_products"
    default_message = "At most 500 products per request."
