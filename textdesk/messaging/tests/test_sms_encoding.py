"""SMS encoding and segmentation, checked against Twilio's Messaging Segment Calculator.

Facts marked "Twilio:" come from the published test suite of TwilioDevEd/message-segment-calculator
(tests/index.test.js, tests/segments.test.js, tests/methods.test.js, tests/charDetails.test.js)
and its GSM-7 table (src/libs/UnicodeToGSM.ts) and Smart Encoding map
(src/libs/SmartEncodingMap.ts). The cases are restated here from those facts, not copied.
"""

import dataclasses

import pytest

from textdesk.messaging.encoding import (
    GSM_REPLACEMENTS,
    SmsAnalysis,
    SmsEncoding,
    analyze_sms,
    suggest_gsm_replacements,
)

GSM7 = SmsEncoding.GSM7
UCS2 = SmsEncoding.UCS2

# Non-ASCII characters are spelled as escapes so look-alikes can't hide in the tests.
GRINNING = "\U0001f600"  # 😀
WINKING_TONGUE = "\U0001f61c"  # 😜
FLAG_ITALY = "\U0001f1ee\U0001f1f9"  # two regional indicators, 4 UTF-16 units
RAINBOW_FLAG = "\U0001f3f3\ufe0f\u200d\U0001f308"  # flag + VS16 + ZWJ + rainbow, 6 units
THUMBS_UP_MEDIUM = "\U0001f44d\U0001f3fd"  # thumbs up + skin tone modifier
LSQUO, RSQUO = "\u2018", "\u2019"
LDQUO, RDQUO = "\u201c", "\u201d"
EN_DASH, EM_DASH = "\u2013", "\u2014"
ELLIPSIS = "\u2026"
INFINITY = "\u221e"
COFFEE = "\u2615"
EURO = "\u20ac"

# GSM 03.38 default alphabet, typed out independently of the module (0x1B ESC excluded).
GSM7_ALPHABET = (
    "@\u00a3$\u00a5\u00e8\u00e9\u00f9\u00ec\u00f2\u00c7\n\u00d8\u00f8\r\u00c5\u00e5"
    "\u0394_\u03a6\u0393\u039b\u03a9\u03a0\u03a8\u03a3\u0398\u039e\u00c6\u00e6\u00df\u00c9"
    " !\"#\u00a4%&'()*+,-./0123456789:;<=>?"
    "\u00a1ABCDEFGHIJKLMNOPQRSTUVWXYZ\u00c4\u00d6\u00d1\u00dc\u00a7"
    "\u00bfabcdefghijklmnopqrstuvwxyz\u00e4\u00f6\u00f1\u00fc\u00e0"
)
GSM7_EXTENSION = "\f^{}\\[~]|" + EURO


def digits(count: int, start: int = 0) -> str:
    """Twilio's test bodies: '1234567890' repeated, so position is readable from the text."""
    return ("1234567890" * (1 + (start + count) // 10))[start : start + count]


def utf16_units(text: str) -> int:
    return len(text.encode("utf-16-le")) // 2


# --- GSM-7 boundaries --------------------------------------------------------------------


def test_160_gsm_characters_fit_in_one_segment() -> None:
    # Twilio: "GSM-7 in one segment", 160 characters, 1 segment, 1120 bits.
    body = digits(160)
    result = analyze_sms(body)
    assert result.encoding == GSM7
    assert result.segments == 1
    assert result.units == 160
    assert result.characters == 160
    assert result.units_per_segment == 160
    assert result.segment_texts == (body,)


def test_161_gsm_characters_need_two_segments_of_up_to_153() -> None:
    # Twilio: "GSM-7 in two segments" (1127 bits = 161 septets); charDetails: with 161 'A',
    # index 152 is in the first segment and index 153 in the second.
    body = "A" * 161
    result = analyze_sms(body)
    assert result.encoding == GSM7
    assert result.segments == 2
    assert result.units == 161
    assert result.units_per_segment == 153
    assert result.segment_texts == ("A" * 153, "A" * 8)


def test_306_gsm_characters_fill_exactly_two_concatenated_segments() -> None:
    result = analyze_sms(digits(153 * 2))
    assert result.segments == 2
    assert [len(text) for text in result.segment_texts] == [153, 153]


def test_307_gsm_characters_need_a_third_segment_holding_only_the_last_character() -> None:
    # Twilio: "GSM-7 in three segments" (307 characters, 2149 bits); segments.test: the third
    # segment holds only the final '7'.
    body = digits(153 * 2 + 1)
    result = analyze_sms(body)
    assert result.segments == 3
    assert result.units == 307
    assert result.segment_texts[2] == "7"
    assert "".join(result.segment_texts) == body


# --- GSM-7 extension table -----------------------------------------------------------------


@pytest.mark.parametrize("character", list(GSM7_EXTENSION), ids=repr)
def test_each_extension_character_costs_two_septets(character: str) -> None:
    # Twilio: every extension character maps to ESC + code (two code units).
    result = analyze_sms(character)
    assert result.encoding == GSM7
    assert result.units == 2
    assert result.characters == 1


@pytest.mark.parametrize("character", list(GSM7_EXTENSION), ids=repr)
def test_extension_character_and_158_more_fit_in_one_segment(character: str) -> None:
    # Twilio: "One segment with escape character X" (X + 158 digits = 1120 bits).
    result = analyze_sms(character + digits(158, start=1))
    assert result.encoding == GSM7
    assert result.units == 160
    assert result.segments == 1


@pytest.mark.parametrize("character", list(GSM7_EXTENSION), ids=repr)
def test_extension_character_and_159_more_need_two_segments(character: str) -> None:
    # Twilio: "Two segments with escape character X" (X + 159 digits = 1127 bits of text).
    result = analyze_sms(character + digits(159, start=1))
    assert result.encoding == GSM7
    assert result.units == 161
    assert result.segments == 2


def test_escape_pair_moves_to_next_segment_when_only_one_septet_is_left() -> None:
    body = "a" * 152 + "{" + "a" * 7
    result = analyze_sms(body)
    assert result.units == 161
    assert result.segment_texts == ("a" * 152, "{" + "a" * 7)


def test_moving_an_escape_pair_can_cost_an_extra_segment() -> None:
    # 306 septets would be exactly two full segments, but the pair can't straddle septet 153.
    body = "a" * 152 + "{" + "a" * 152
    result = analyze_sms(body)
    assert result.units == 306
    assert result.segments == 3
    assert result.segment_texts == ("a" * 152, "{" + "a" * 151, "a")


def test_80_euro_signs_fit_in_one_segment_but_81_split_at_76_per_segment() -> None:
    assert analyze_sms(EURO * 80).segments == 1
    result = analyze_sms(EURO * 81)
    assert result.units == 162
    assert result.segment_texts == (EURO * 76, EURO * 5)


# --- Which characters are GSM-7 --------------------------------------------------------------


def test_whole_gsm_basic_alphabet_stays_gsm7_at_one_septet_each() -> None:
    assert len(set(GSM7_ALPHABET)) == 127
    result = analyze_sms(GSM7_ALPHABET)
    assert result.encoding == GSM7
    assert result.units == 127
    assert result.ucs2_characters == ()


def test_carriage_returns_and_line_feeds_cost_one_septet_each() -> None:
    # Twilio: "\rabcde\r\n123" is 11 characters and "\nabcde\n\n123\n" is 12, in GSM-7.
    crlf = analyze_sms("\rabcde\r\n123")
    lf = analyze_sms("\nabcde\n\n123\n")
    assert (crlf.encoding, crlf.units) == (GSM7, 11)
    assert (lf.encoding, lf.units) == (GSM7, 12)


def test_capital_c_cedilla_is_gsm7_but_small_c_cedilla_forces_ucs2() -> None:
    # Twilio: the GSM table maps U+00C7 only; "ç" is in its list of UCS-2 characters.
    assert analyze_sms("\u00c7a va").encoding == GSM7
    assert analyze_sms("\u00e7a va").encoding == UCS2


@pytest.mark.parametrize("character", ["`", "\x1b", "\t", "\u00e1", "\u00ea"], ids=repr)
def test_characters_missing_from_the_gsm_tables_force_ucs2(character: str) -> None:
    # Twilio's table has no grave accent, no ESC as a character, no tab, no á or ê.
    result = analyze_sms("Hello " + character)
    assert result.encoding == UCS2
    assert result.ucs2_characters == (character,)


# --- UCS-2 boundaries ----------------------------------------------------------------------


def test_70_ucs2_units_fit_in_one_segment() -> None:
    # Twilio: "UCS-2 message in one segment", an emoji + 68 digits: 69 characters, 1120 bits.
    body = WINKING_TONGUE + digits(68, start=1)
    result = analyze_sms(body)
    assert result.encoding == UCS2
    assert result.segments == 1
    assert result.units == 70
    assert result.characters == 69
    assert result.units_per_segment == 70
    assert result.segment_texts == (body,)


def test_71_ucs2_units_need_two_segments_of_up_to_67() -> None:
    # Twilio: "UCS-2 message in two segments", 70 characters, 1136 bits of text.
    body = WINKING_TONGUE + digits(69, start=1)
    result = analyze_sms(body)
    assert result.segments == 2
    assert result.units == 71
    assert result.units_per_segment == 67
    assert [utf16_units(text) for text in result.segment_texts] == [67, 4]


@pytest.mark.parametrize(
    "character", ["\u00c1", "\u00da", "\u00fa", "\u00e7", "\u00ed", "\u00cd", "\u00f3", "\u00d3"]
)
def test_70_accented_ucs2_letters_fit_in_one_segment_and_71_need_two(character: str) -> None:
    # Twilio: "One grapheme UCS-2 characters" (Á Ú ú ç í Í ó Ó): 70 -> 1 segment, 71 -> 2.
    assert analyze_sms(character * 70).segments == 1
    result = analyze_sms(character * 71)
    assert result.encoding == UCS2
    assert result.segments == 2
    assert result.ucs2_characters == (character,)


def test_134_ucs2_units_fill_exactly_two_concatenated_segments() -> None:
    result = analyze_sms("\u00e7" * (67 * 2))
    assert result.segments == 2
    assert [len(text) for text in result.segment_texts] == [67, 67]


def test_135_ucs2_units_need_a_third_segment_holding_only_the_last_character() -> None:
    # Twilio: "UCS-2 message in three segments" (emoji + 133 digits, 2160 bits of text);
    # segments.test: the third segment holds only the final '4'.
    body = WINKING_TONGUE + digits(133, start=1)
    result = analyze_sms(body)
    assert result.units == 135
    assert result.segments == 3
    assert result.segment_texts[2] == "4"


def test_emoji_outside_the_bmp_counts_two_units() -> None:
    result = analyze_sms(GRINNING)
    assert result.encoding == UCS2
    assert result.units == 2
    assert result.characters == 1


def test_surrogate_pair_moves_to_next_segment_instead_of_splitting() -> None:
    body = "a" * 66 + GRINNING + "aaa"
    result = analyze_sms(body)
    assert result.units == 71
    assert result.segment_texts == ("a" * 66, GRINNING + "aaa")


def test_moving_a_surrogate_pair_can_cost_an_extra_segment() -> None:
    # 134 units would be exactly two full segments, but the pair can't straddle unit 67.
    body = "a" * 66 + GRINNING + "a" * 66
    result = analyze_sms(body)
    assert result.units == 134
    assert result.segments == 3
    assert result.segment_texts == ("a" * 66, GRINNING + "a" * 65, "a")


@pytest.mark.parametrize(
    ("body", "units", "characters", "segments"),
    [
        # Twilio: flag + 66 digits = 67 graphemes, 68 scalars, 1 segment; one more -> 2.
        (FLAG_ITALY + digits(66, start=2), 70, 68, 1),
        (FLAG_ITALY + digits(67, start=2), 71, 69, 2),
        # Twilio: rainbow flag (4 scalars) + 64 digits = 68 scalars, 1 segment; one more -> 2.
        (RAINBOW_FLAG + digits(64, start=2), 70, 68, 1),
        (RAINBOW_FLAG + digits(65, start=2), 71, 69, 2),
        # Twilio: e + three combining acutes (4 scalars) + 66 'a' -> 1 segment; + 67 -> 2.
        ("e\u0301\u0301\u0301" + "a" * 66, 70, 70, 1),
        ("e\u0301\u0301\u0301" + "a" * 67, 71, 71, 2),
    ],
    ids=["flag-70", "flag-71", "rainbow-70", "rainbow-71", "accents-70", "accents-71"],
)
def test_multi_code_point_characters_count_every_utf16_unit(
    body: str, units: int, characters: int, segments: int
) -> None:
    result = analyze_sms(body)
    assert result.encoding == UCS2
    assert result.units == units
    assert result.characters == characters
    assert result.segments == segments


def test_extension_characters_count_one_unit_once_the_message_is_ucs2() -> None:
    # Twilio issue #57 / charDetails test: this 70-character message is 70 units, not 72.
    body = "|" * 24 + "{" + "|" * 28 + INFINITY + "|" * 10 + "^" + "|" * 5
    result = analyze_sms(body)
    assert len(body) == 70
    assert result.encoding == UCS2
    assert result.units == 70
    assert result.segments == 1
    assert result.ucs2_characters == (INFINITY,)


def test_emoji_and_brackets_use_one_unit_per_bracket() -> None:
    # Twilio issue #18: emoji + 68 ']' is one segment; emoji + 69 ']' is two.
    assert analyze_sms(GRINNING + "]" * 68).segments == 1
    assert analyze_sms(GRINNING + "]" * 69).segments == 2


@pytest.mark.parametrize(
    "body",
    [
        "a" * 152 + "{" + "a" * 500,
        "[]" * 200,
        "\u00e7" * 65 + GRINNING * 40,
        ("x" + GRINNING) * 90,
        "Hi " + THUMBS_UP_MEDIUM * 50,
    ],
    ids=["escape-long", "escapes-only", "bmp-then-emoji", "alternating", "skin-tones"],
)
def test_segments_rejoin_to_the_body_and_never_exceed_their_capacity(body: str) -> None:
    result = analyze_sms(body)
    assert "".join(result.segment_texts) == body
    assert result.segments == len(result.segment_texts) > 1
    for text in result.segment_texts:
        cost = utf16_units(text) if result.encoding == UCS2 else analyze_sms(text).units
        assert 0 < cost <= result.units_per_segment


# --- What forced UCS-2 ---------------------------------------------------------------------


def test_characters_that_force_ucs2_are_reported() -> None:
    # Twilio methods.test: getNonGsmCharacters() of "más" is ["á"].
    assert analyze_sms("m\u00e1s").ucs2_characters == ("\u00e1",)


def test_ucs2_culprits_are_distinct_and_in_order_of_first_appearance() -> None:
    body = f"na\u00efve {COFFEE} caf\u00e9 {COFFEE} na\u00efve {GRINNING}"
    assert analyze_sms(body).ucs2_characters == ("\u00ef", COFFEE, GRINNING)


def test_gsm7_message_reports_no_ucs2_culprits() -> None:
    result = analyze_sms("Price: {5} \u20ac, caf\u00e9 @ 5pm")
    assert result.encoding == GSM7
    assert result.ucs2_characters == ()


def test_one_curly_apostrophe_switches_the_whole_message_to_ucs2() -> None:
    result = analyze_sms("a" * 150 + RSQUO)
    assert result.encoding == UCS2
    assert result.units == 151
    assert result.segments == 3
    assert result.ucs2_characters == (RSQUO,)


# --- Result shape -----------------------------------------------------------------------------


def test_empty_body_is_zero_segments() -> None:
    # Our choice: Twilio's calculator shows 1, but Twilio won't send an empty SMS (error 21602).
    result = analyze_sms("")
    assert result.encoding == GSM7
    assert result.segments == 0
    assert result.units == 0
    assert result.characters == 0
    assert result.units_per_segment == 160
    assert result.segment_texts == ()


def test_characters_counts_code_points_not_units_or_graphemes() -> None:
    result = analyze_sms(THUMBS_UP_MEDIUM)
    assert result.characters == 2
    assert result.units == 4


def test_analysis_is_immutable() -> None:
    result = analyze_sms("hello")
    with pytest.raises(dataclasses.FrozenInstanceError):
        result.segments = 5  # type: ignore[misc]


def test_encoding_values_are_the_names_twilio_shows() -> None:
    assert isinstance(analyze_sms("hi"), SmsAnalysis)
    assert str(SmsEncoding.GSM7) == "GSM-7"
    assert str(SmsEncoding.UCS2) == "UCS-2"
    assert analyze_sms(GRINNING).encoding == "UCS-2"


# --- GSM-7 replacements ---------------------------------------------------------------------


@pytest.mark.parametrize(
    ("character", "replacement"),
    [
        # Twilio Smart Encoding maps each of these the same way.
        (LSQUO, "'"),
        (RSQUO, "'"),
        ("\u201b", "'"),
        (LDQUO, '"'),
        (RDQUO, '"'),
        ("\u201e", '"'),
        ("\u201f", '"'),
        ("\u00ab", '"'),
        ("\u00bb", '"'),
        (EN_DASH, "-"),
        (EM_DASH, "-"),
        ("\u2015", "-"),
        (ELLIPSIS, "..."),
        ("\u2022", "-"),
        ("\u200b", ""),
        ("\u2060", ""),
        ("\ufeff", ""),
        ("`", "'"),
        # Ours, beyond Twilio's map.
        ("\u201a", "'"),
        ("\u2032", "'"),
        ("\u2033", '"'),
        ("\u2012", "-"),
    ],
    ids=repr,
)
def test_smart_punctuation_is_replaced_with_its_gsm7_look_alike(
    character: str, replacement: str
) -> None:
    suggestion = suggest_gsm_replacements(f"a{character}b")
    assert suggestion.text == f"a{replacement}b"
    assert suggestion.replaced == (character,)
    assert suggestion.analysis.encoding == GSM7


@pytest.mark.parametrize(
    "space",
    ["\u00a0", *(chr(code) for code in range(0x2000, 0x200B)), "\u202f", "\u205f", "\u3000"],
    ids=lambda space: f"U+{ord(space):04X}",
)
def test_unicode_spaces_become_a_plain_space(space: str) -> None:
    assert analyze_sms(f"a{space}b").encoding == UCS2
    assert suggest_gsm_replacements(f"a{space}b").text == "a b"


def test_every_replacement_turns_a_non_gsm_character_into_gsm7_text() -> None:
    for character, replacement in GSM_REPLACEMENTS.items():
        assert analyze_sms(character).encoding == UCS2, repr(character)
        assert analyze_sms(replacement).encoding == GSM7, repr(character)


def test_replacing_smart_punctuation_brings_a_message_back_to_gsm7() -> None:
    body = f"Don{RSQUO}t forget: {LDQUO}Team lunch{RDQUO} {EM_DASH} 12:30{ELLIPSIS}"
    suggestion = suggest_gsm_replacements(body)
    assert suggestion.text == 'Don\'t forget: "Team lunch" - 12:30...'
    assert suggestion.replaced == (RSQUO, LDQUO, RDQUO, EM_DASH, ELLIPSIS)
    assert suggestion.analysis == analyze_sms(suggestion.text)
    assert suggestion.analysis.encoding == GSM7


def test_replacing_one_apostrophe_saves_a_segment() -> None:
    body = "We" + RSQUO + "re open late tonight. " * 4
    assert analyze_sms(body).segments == 2
    suggestion = suggest_gsm_replacements(body)
    assert suggestion.analysis.encoding == GSM7
    assert suggestion.analysis.segments == 1


def test_letters_and_emoji_are_left_alone_and_still_reported() -> None:
    body = f"Caf\u00e9 \u00e7a {GRINNING} {RSQUO}"
    suggestion = suggest_gsm_replacements(body)
    assert suggestion.text == f"Caf\u00e9 \u00e7a {GRINNING} '"
    assert suggestion.replaced == (RSQUO,)
    assert suggestion.analysis.encoding == UCS2
    assert suggestion.analysis.ucs2_characters == ("\u00e7", GRINNING)


def test_body_without_culprits_is_returned_unchanged() -> None:
    body = "Plain {GSM} text \u20ac"
    suggestion = suggest_gsm_replacements(body)
    assert suggestion.text == body
    assert suggestion.replaced == ()
