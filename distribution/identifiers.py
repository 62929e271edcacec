"""Personal identifiers (phones, ID numbers) in one canonical form.

Every comparison of an identifier (the blacklist, applications, identity, the shared-identity risk rule)
goes through a keyed hash of its canonical form, and the canonical form is also what is validated,
stored and masked. Two spellings of the same number must never hash apart: '１３７ ０００ ０１１１１'
(full-width), '١٣٧٠٠٠٠١١١١' (Arabic-Indic digits), '+86 137-0000-1111' and '13700001111' are one phone.

The canonical form is built in three steps: Unicode NFKC (full-width and compatibility characters
become ASCII, superscripts become digits), then every remaining Unicode decimal digit becomes its ASCII
digit, then the rules of the kind (a phone keeps its digits only and drops China's country code; an ID
number is upper-cased and loses spaces, dashes and invisible characters).
"""

from __future__ import annotations

import re
import unicodedata

PHONE = "phone"
ID_NUMBER = "id_number"

# What a phone number may look like as typed (after folding): digits and the usual separators.
PHONE_AS_TYPED = re.compile(r"\+?[0-9 ().-]{5,30}")
PHONE_DIGITS = re.compile(r"[0-9]{5,20}")
ID_NUMBER_CHARS = re.compile(r"[0-9A-Z]{5,32}")


def fold(value: str) -> str:
    """NFKC, then every Unicode decimal digit (Arabic-Indic, Devanagari, …) as its ASCII digit."""
    value = unicodedata.normalize("NFKC", value)
    if value.isascii():
        return value
    return "".join(str(unicodedata.decimal(ch)) if ch.isdecimal() else ch for ch in value)


def _without_separators(value: str) -> str:
    """Drop spaces, dashes and invisible characters (Unicode categories Z*, C* and Pd)."""
    return "".join(ch for ch in value if unicodedata.category(ch)[0] not in "ZC" and unicodedata.category(ch) != "Pd")


def canonical_phone(value: str) -> str:
    """'+86 137-0000-1111' -> '13700001111': the ASCII digits, without China's country code."""
    digits = "".join(ch for ch in fold(value) if "0" <= ch <= "9")
    if len(digits) == 13 and digits.startswith("86"):
        return digits[2:]
    if len(digits) == 15 and digits.startswith("0086"):
        return digits[4:]
    return digits


def canonical_id_number(value: str) -> str:
    """'1101 0119 9003 07123x' -> '11010119900307123X'."""
    return _without_separators(fold(value)).upper()


def canonical(kind: str, value: str) -> str:
    """The form an identifier of this kind is validated, hashed, matched and stored in."""
    if kind == PHONE:
        return canonical_phone(value)
    if kind == ID_NUMBER:
        return canonical_id_number(value)
    return value.strip()


def phone_problem(value: str) -> str | None:
    """Why `value` is not a usable phone number, or None."""
    folded = fold(value).strip()
    if not PHONE_AS_TYPED.fullmatch(folded) or not PHONE_DIGITS.fullmatch(canonical_phone(folded)):
        return "Enter a phone number: 5 to 20 digits, optionally with +, spaces, dashes or brackets."
    return None


def id_number_problem(value: str) -> str | None:
    """Why `value` (any document number) is not usable, or None; resident IDs are checked further."""
    if not ID_NUMBER_CHARS.fullmatch(canonical_id_number(value)):
        return "Enter a document number: 5 to 32 letters A-Z and digits."
    return None
