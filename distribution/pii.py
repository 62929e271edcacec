"""Masking of personal data for every API response, list and admin screen."""

from __future__ import annotations


def mask_phone(phone: str | None) -> str:
    """'13812345678' -> '138****5678'."""
    if not phone:
        return ""
    digits = phone.strip()
    if len(digits) <= 4:
        return "*" * len(digits)
    if len(digits) < 8:
        return digits[:1] + "*" * (len(digits) - 3) + digits[-2:]
    return digits[:3] + "*" * (len(digits) - 7) + digits[-4:]


def mask_email(email: str | None) -> str:
    """'alice@example.com' -> 'a***@example.com'."""
    if not email or "@" not in email:
        return "" if not email else "***"
    local, domain = email.split("@", 1)
    return f"{local[:1]}***@{domain}"


def mask_id_number(number: str | None) -> str:
    """'110101199003071234' -> '1101**********1234'."""
    if not number:
        return ""
    if len(number) <= 8:
        return "*" * len(number)
    return number[:4] + "*" * (len(number) - 8) + number[-4:]


def mask_name(name: str | None) -> str:
    """'张三丰' -> '张**'; 'Alice' -> 'A****'."""
    if not name:
        return ""
    return name[:1] + "*" * (len(name) - 1)
