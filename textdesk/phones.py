"""Phone numbers: everything Textdesk stores is E.164 (+15551234567), parsed with `phonenumbers`.

People type numbers every way imaginable ("(617) 555-0100", "617.555.0100", "+44 20 ...");
this is the one place that turns them into E.164 or explains, in words a user understands,
why a number cannot be texted.
"""

from functools import lru_cache

from django.conf import settings
from phonenumbers import (
    NumberParseException,
    PhoneNumberFormat,
    PhoneNumberType,
    format_number,
    is_possible_number,
    is_valid_number,
    number_type,
    parse,
    region_code_for_number,
)

# Types that can plausibly receive a text. FIXED_LINE_OR_MOBILE covers the US and Canada, where
# the number alone does not tell; PERSONAL_NUMBER covers the 500/533 ranges (and Twilio's test
# numbers). Landlines, premium-rate, pagers and voicemail-only numbers are refused up front.
_TEXTABLE_TYPES = {
    PhoneNumberType.MOBILE,
    PhoneNumberType.FIXED_LINE_OR_MOBILE,
    PhoneNumberType.VOIP,
    PhoneNumberType.PERSONAL_NUMBER,
}
# An inbox may also send from a toll-free number (toll-free texting is common in the US).
_SENDER_TYPES = _TEXTABLE_TYPES | {PhoneNumberType.TOLL_FREE}

MAX_E164_LENGTH = 16  # "+" and at most 15 digits


class InvalidPhoneNumber(ValueError):
    """A number that cannot be used, with a message fit to show to the person who typed it."""


def _parse(raw: str, region: str | None):
    text = (raw or "").strip()
    if not text:
        raise InvalidPhoneNumber("Enter a phone number.")
    try:
        parsed = parse(text, region or settings.TEXTDESK_DEFAULT_REGION)
    except NumberParseException:
        raise InvalidPhoneNumber(f"{text!r} is not a phone number.") from None
    if not is_possible_number(parsed) or not is_valid_number(parsed):
        raise InvalidPhoneNumber(f"{text!r} is not a valid phone number.")
    return text, parsed


def to_e164(raw: str, region: str | None = None) -> str:
    """Any valid number in E.164, whatever its type (used for inbound senders)."""
    _, parsed = _parse(raw, region)
    return format_number(parsed, PhoneNumberFormat.E164)


def textable_e164(raw: str, region: str | None = None) -> str:
    """A number we may text, in E.164; refuses landlines and other numbers that cannot get SMS."""
    text, parsed = _parse(raw, region)
    if number_type(parsed) not in _TEXTABLE_TYPES:
        raise InvalidPhoneNumber(f"{text!r} does not look like a mobile number that can get texts.")
    return format_number(parsed, PhoneNumberFormat.E164)


def nanp_exchange(e164: str) -> str:
    """A stand-in for a North American number with the same area code and exchange, or the
    number itself. Whether such a number can get texts, and its time zone, depend on those
    six digits only (checked against phonenumbers' data for 100,000 numbers); so a send to
    100,000 people asks phonenumbers once per exchange rather than once per person."""
    if len(e164) == 12 and e164.startswith("+1"):
        return e164[:8] + "0000"
    return e164


@lru_cache(maxsize=50_000)
def _why_not_textable(e164: str) -> str:
    try:
        textable_e164(e164)
    except InvalidPhoneNumber as e:
        return str(e)
    return ""


def why_not_textable(e164: str) -> str:
    """Why a stored E.164 number cannot get texts; "" when it can."""
    stand_in = nanp_exchange(e164)
    return _why_not_textable(stand_in).replace(stand_in, e164)


def sender_e164(raw: str, region: str | None = None) -> str:
    """A number an inbox may send from, in E.164 (mobile-like or toll-free)."""
    text, parsed = _parse(raw, region)
    if number_type(parsed) not in _SENDER_TYPES:
        raise InvalidPhoneNumber(f"{text!r} cannot send texts (it looks like a landline).")
    return format_number(parsed, PhoneNumberFormat.E164)


def pretty(e164: str) -> str:
    """A number as people read it: national format at home, international abroad."""
    try:
        parsed = parse(e164, None)
    except NumberParseException:
        return e164
    if region_code_for_number(parsed) == settings.TEXTDESK_DEFAULT_REGION:
        return format_number(parsed, PhoneNumberFormat.NATIONAL)
    return format_number(parsed, PhoneNumberFormat.INTERNATIONAL)
