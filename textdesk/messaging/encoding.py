"""How an SMS body will be encoded and split into billable segments.

Carriers bill (and Twilio charges) per segment, and a single curly quote pasted from a word
processor silently switches a whole message from GSM-7 to UCS-2, more than halving the room per
segment. It is the basis for showing the count, the split points and the culprits
before anyone presses send.

The rules follow GSM 03.38 / 3GPP TS 23.038 and agree with Twilio's open-source Messaging
Segment Calculator (TwilioDevEd/message-segment-calculator):

* GSM-7: 160 septets in a single segment; 153 per segment once a User Data Header (6 octets)
  is needed. Extension-table characters cost two septets (ESC + code) and the pair is never
  split across segments.
* UCS-2: 70 UTF-16 code units in a single segment; 67 per segment when split. Characters
  outside the BMP (most emoji) are a surrogate pair (2 units) that is never split.
* One character outside GSM-7 (basic table + extension table) makes the whole message UCS-2.

Deliberate choices:

* An empty body is 0 segments with no segment texts. Twilio's calculator shows 1 (it always
  opens a first segment), but Twilio refuses to send an SMS with no body and no media
  (error 21602), so nothing is ever billed for it.
* Splits fall between code points, never inside a surrogate pair or an escape pair. Twilio's
  calculator additionally keeps whole grapheme clusters (ZWJ emoji, flags, base + combining
  marks) together, which can differ from us only when such a cluster straddles a boundary;
  the standard library has no grapheme segmentation and handsets reassemble the text anyway.
"""

import enum
from dataclasses import dataclass

__all__ = [
    "GSM7_BASIC_CHARACTERS",
    "GSM7_EXTENSION_CHARACTERS",
    "GSM_REPLACEMENTS",
    "GsmSuggestion",
    "SmsAnalysis",
    "SmsEncoding",
    "analyze_sms",
    "is_gsm7",
    "suggest_gsm_replacements",
]


class SmsEncoding(enum.StrEnum):
    """The two data codings Twilio picks between; the value is what the UI displays."""

    GSM7 = "GSM-7"
    UCS2 = "UCS-2"


# GSM 03.38 default alphabet, in table order (0x00-0x7F) minus 0x1B, the escape to the
# extension table, which is not a character in its own right. Escapes keep look-alikes such as
# the Greek capitals unambiguous (U+0394 Delta, not U+2206 Increment; U+03A9, not Ohm U+2126).
GSM7_BASIC_CHARACTERS: frozenset[str] = frozenset(
    # 0x00-0x0F: @ £ $ ¥ è é ù ì ò Ç LF Ø ø CR Å å
    "@\u00a3$\u00a5\u00e8\u00e9\u00f9\u00ec\u00f2\u00c7\n\u00d8\u00f8\r\u00c5\u00e5"
    # 0x10-0x1F: Δ _ Φ Γ Λ Ω Π Ψ Σ Θ Ξ (ESC) Æ æ ß É
    "\u0394_\u03a6\u0393\u039b\u03a9\u03a0\u03a8\u03a3\u0398\u039e\u00c6\u00e6\u00df\u00c9"
    # 0x20-0x3F: space ! " # ¤ % & ' ( ) * + , - . / 0-9 : ; < = > ?
    " !\"#\u00a4%&'()*+,-./0123456789:;<=>?"
    # 0x40-0x5F: ¡ A-Z Ä Ö Ñ Ü §
    "\u00a1ABCDEFGHIJKLMNOPQRSTUVWXYZ\u00c4\u00d6\u00d1\u00dc\u00a7"
    # 0x60-0x7F: ¿ a-z ä ö ñ ü à
    "\u00bfabcdefghijklmnopqrstuvwxyz\u00e4\u00f6\u00f1\u00fc\u00e0"
)

# Reached through ESC, so each costs two septets: FF ^ { } \ [ ~ ] | €
GSM7_EXTENSION_CHARACTERS: frozenset[str] = frozenset("\f^{}\\[~]|\u20ac")

_GSM7_CHARACTERS: frozenset[str] = GSM7_BASIC_CHARACTERS | GSM7_EXTENSION_CHARACTERS

GSM7_SINGLE_SEGMENT_SEPTETS = 160
GSM7_MULTI_SEGMENT_SEPTETS = 153
UCS2_SINGLE_SEGMENT_UNITS = 70
UCS2_MULTI_SEGMENT_UNITS = 67


@dataclass(frozen=True, slots=True)
class SmsAnalysis:
    """Everything the composer needs to show cost and split points; immutable so it can be cached.

    ``units`` is septets for GSM-7 (extension characters count 2) and UTF-16 code units for
    UCS-2 (characters outside the BMP count 2). ``characters`` is the number of Unicode code
    points (Python ``len``), so a flag or a skin-toned emoji counts more than one.
    ``units_per_segment`` is the capacity that applies to this message: 160/70 when it fits in
    one segment, 153/67 once it is split. ``ucs2_characters`` lists the distinct characters
    that forced UCS-2, in order of first appearance (empty for GSM-7). ``segment_texts`` joins
    back to the body exactly.
    """

    encoding: SmsEncoding
    segments: int
    units: int
    characters: int
    units_per_segment: int
    ucs2_characters: tuple[str, ...]
    segment_texts: tuple[str, ...]


def is_gsm7(character: str) -> bool:
    """True if one character can travel in GSM-7 (basic or extension table)."""
    return character in _GSM7_CHARACTERS


def _gsm7_septets(character: str) -> int:
    """Extension characters need ESC + code, hence two septets."""
    return 2 if character in GSM7_EXTENSION_CHARACTERS else 1


def _utf16_units(character: str) -> int:
    """Code points beyond the BMP are sent as a surrogate pair."""
    return 2 if ord(character) > 0xFFFF else 1


def _split(body: str, costs: list[int], capacity: int) -> tuple[str, ...]:
    """Fill segments greedily, moving a character whole to the next segment if it won't fit.

    Costs are per code point, so an escape pair or a surrogate pair is never cut in two.
    """
    segments: list[str] = []
    start = 0
    used = 0
    for index, cost in enumerate(costs):
        if used + cost > capacity:
            segments.append(body[start:index])
            start = index
            used = 0
        used += cost
    segments.append(body[start:])
    return tuple(segments)


def analyze_sms(body: str) -> SmsAnalysis:
    """Work out encoding, size and segment split for an SMS body, as Twilio would send it."""
    ucs2_characters = tuple(dict.fromkeys(ch for ch in body if ch not in _GSM7_CHARACTERS))
    if ucs2_characters:
        encoding = SmsEncoding.UCS2
        costs = [_utf16_units(ch) for ch in body]
        single, multi = UCS2_SINGLE_SEGMENT_UNITS, UCS2_MULTI_SEGMENT_UNITS
    else:
        encoding = SmsEncoding.GSM7
        costs = [_gsm7_septets(ch) for ch in body]
        single, multi = GSM7_SINGLE_SEGMENT_SEPTETS, GSM7_MULTI_SEGMENT_SEPTETS

    units = sum(costs)
    if not body:
        segment_texts: tuple[str, ...] = ()
    elif units <= single:
        segment_texts = (body,)
    else:
        segment_texts = _split(body, costs, multi)

    return SmsAnalysis(
        encoding=encoding,
        segments=len(segment_texts),
        units=units,
        characters=len(body),
        units_per_segment=multi if len(segment_texts) > 1 else single,
        ucs2_characters=ucs2_characters,
        segment_texts=segment_texts,
    )


def sms_size(body: str) -> tuple[SmsEncoding, int]:
    """Encoding and segment count only, as analyze_sms gives them: a send works this out for
    every recipient. Text of the basic GSM-7 table alone (most texts) costs a septet a
    character, so its count is arithmetic; anything else is packed by analyze_sms."""
    if _GSM7_BASIC_SET.issuperset(body):
        length = len(body)
        if length <= GSM7_SINGLE_SEGMENT_SEPTETS:
            return SmsEncoding.GSM7, 1 if length else 0
        return SmsEncoding.GSM7, -(-length // GSM7_MULTI_SEGMENT_SEPTETS)
    analysis = analyze_sms(body)
    return analysis.encoding, analysis.segments


_GSM7_BASIC_SET = set(GSM7_BASIC_CHARACTERS)  # issuperset(str) is fastest on a set


# Characters that sneak in from word processors, phones and web pages and force UCS-2 for no
# visible benefit. Every replacement is GSM-7 (mostly the basic table, so it costs 1 septet).
# Treat as read-only. Where Twilio's Smart Encoding maps the same character, we agree, except
# U+201A (Twilio: ",") and the unicode spaces (Twilio: two spaces), where a quote and a single
# space keep the text closer to what the sender wrote.
GSM_REPLACEMENTS: dict[str, str] = {
    # Single quotes, apostrophes and primes.
    "\u2018": "'",  # LEFT SINGLE QUOTATION MARK
    "\u2019": "'",  # RIGHT SINGLE QUOTATION MARK (the "smart" apostrophe)
    "\u201a": "'",  # SINGLE LOW-9 QUOTATION MARK
    "\u201b": "'",  # SINGLE HIGH-REVERSED-9 QUOTATION MARK
    "\u2032": "'",  # PRIME
    "\u02bc": "'",  # MODIFIER LETTER APOSTROPHE
    "\u00b4": "'",  # ACUTE ACCENT
    "`": "'",  # GRAVE ACCENT: ASCII, but not in GSM-7
    # Double quotes.
    "\u201c": '"',  # LEFT DOUBLE QUOTATION MARK
    "\u201d": '"',  # RIGHT DOUBLE QUOTATION MARK
    "\u201e": '"',  # DOUBLE LOW-9 QUOTATION MARK
    "\u201f": '"',  # DOUBLE HIGH-REVERSED-9 QUOTATION MARK
    "\u2033": '"',  # DOUBLE PRIME
    "\u00ab": '"',  # LEFT-POINTING DOUBLE ANGLE QUOTATION MARK
    "\u00bb": '"',  # RIGHT-POINTING DOUBLE ANGLE QUOTATION MARK
    "\u2039": "<",  # SINGLE LEFT-POINTING ANGLE QUOTATION MARK
    "\u203a": ">",  # SINGLE RIGHT-POINTING ANGLE QUOTATION MARK
    # Hyphens and dashes.
    "\u2010": "-",  # HYPHEN
    "\u2011": "-",  # NON-BREAKING HYPHEN
    "\u2012": "-",  # FIGURE DASH
    "\u2013": "-",  # EN DASH
    "\u2014": "-",  # EM DASH
    "\u2015": "-",  # HORIZONTAL BAR
    "\u2212": "-",  # MINUS SIGN
    # Spaces: no-break, typographic and ideographic.
    "\t": " ",  # CHARACTER TABULATION: not in GSM-7
    "\u00a0": " ",  # NO-BREAK SPACE
    "\u2000": " ",  # EN QUAD
    "\u2001": " ",  # EM QUAD
    "\u2002": " ",  # EN SPACE
    "\u2003": " ",  # EM SPACE
    "\u2004": " ",  # THREE-PER-EM SPACE
    "\u2005": " ",  # FOUR-PER-EM SPACE
    "\u2006": " ",  # SIX-PER-EM SPACE
    "\u2007": " ",  # FIGURE SPACE
    "\u2008": " ",  # PUNCTUATION SPACE
    "\u2009": " ",  # THIN SPACE
    "\u200a": " ",  # HAIR SPACE
    "\u202f": " ",  # NARROW NO-BREAK SPACE
    "\u205f": " ",  # MEDIUM MATHEMATICAL SPACE
    "\u3000": " ",  # IDEOGRAPHIC SPACE
    # Line and paragraph separators are line breaks in intent.
    "\u2028": "\n",  # LINE SEPARATOR
    "\u2029": "\n",  # PARAGRAPH SEPARATOR
    # Invisible characters: drop them.
    "\u200b": "",  # ZERO WIDTH SPACE
    "\u2060": "",  # WORD JOINER
    "\ufeff": "",  # ZERO WIDTH NO-BREAK SPACE (byte order mark)
    "\u00ad": "",  # SOFT HYPHEN
    # Other punctuation.
    "\u2026": "...",  # HORIZONTAL ELLIPSIS
    "\u2022": "-",  # BULLET
    "\u2023": "-",  # TRIANGULAR BULLET
    "\u2043": "-",  # HYPHEN BULLET
    "\u203c": "!!",  # DOUBLE EXCLAMATION MARK
}

_GSM_TRANSLATION: dict[int, str] = str.maketrans(GSM_REPLACEMENTS)


@dataclass(frozen=True, slots=True)
class GsmSuggestion:
    """A proposed GSM-7-friendlier body, so the UI can offer a one-click fix with its effect.

    ``replaced`` lists the distinct characters that were swapped (see ``GSM_REPLACEMENTS`` for
    what each became), in order of first appearance. ``analysis`` is for the new ``text``:
    its ``ucs2_characters`` shows what still forces UCS-2 (an emoji, say), if anything.
    """

    text: str
    replaced: tuple[str, ...]
    analysis: SmsAnalysis
    # Culprits left alone because their longer replacements ("…" -> "...") would have cost
    # more segments than the text had before.
    kept: tuple[str, ...] = ()


def suggest_gsm_replacements(body: str) -> GsmSuggestion:
    """Swap look-alike punctuation and stray spaces for GSM-7 equivalents; never touch letters.

    A suggestion never costs more segments than the body: when the longer replacements
    ("…" -> "...", "‼" -> "!!") would, those culprits are kept and only the others swapped.
    """
    replaced = tuple(dict.fromkeys(ch for ch in body if ch in GSM_REPLACEMENTS))
    if not replaced:
        return GsmSuggestion(text=body, replaced=(), analysis=analyze_sms(body))
    text = body.translate(_GSM_TRANSLATION)
    analysis = analyze_sms(text)
    if analysis.segments <= analyze_sms(body).segments:
        return GsmSuggestion(text=text, replaced=replaced, analysis=analysis)
    kept = tuple(ch for ch in replaced if len(GSM_REPLACEMENTS[ch]) > 1)
    text = body.translate({ord(ch): GSM_REPLACEMENTS[ch] for ch in replaced if ch not in kept})
    return GsmSuggestion(
        text=text,
        replaced=tuple(ch for ch in replaced if ch not in kept),
        analysis=analyze_sms(text),
        kept=kept,
    )
