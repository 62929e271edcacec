"""Error codes of the catalogue."""

from distribution.errors import Conflict, Unprocessable, ValidationFailed


class TooManyProducts(ValidationFailed):
    code = "too_many_products"
    default_message = "At most 500 products per request."


class TooManyCategories(ValidationFailed):
    code = "too_many_categories"
    default_message = "At most 500 categories per request."


class UnknownCategory(Unprocessable):
    code = "unknown_category"
    default_message = "A product or a category's parent names a category this merchant has not synced (or has deleted)."


class CategoryCycle(Unprocessable):
    code = "category_cycle"
    default_message = "These parents would make a category its own ancestor."


class CategoryInUse(Conflict):
    code = "category_in_use"
    default_message = "Products or live subcategories are in this category: move them first."
