"""SMS encoding and segmentation as properties (hypothesis), against a reference written here.

The reference does not look at the module's tables or helpers: it types out the GSM 03.38
alphabet itself, encodes a body into the real stream of septets (ESC + code for the extension
table) or UTF-16 code units, and cuts that stream into segments, backing off one unit whenever
a cut would fall right after an ESC or a high surrogate. The implementation instead works out a
cost per code point and packs greedily; the two must agree on every body.

Bodies are GSM-7 basic text, text with extension characters, BMP and astral (emoji) UCS-2
text and mixtures, built as free text, as long runs and as runs sized to land on either side
of the 67/70/153/160 boundaries. Examples are derandomized so CI always checks the same ones.
"""

from itertools import pairwise

from hypothesis import example, given, settings
from hypothesis import strategies as st

from textdesk.messaging.encoding import (
    GSM_REPLACEMENTS,
    SmsEncoding,
    analyze_sms,
    is_gsm7,
    sms_size,
    suggest_gsm_replacements,
)

PROPERTY = settings(max_examples=150, derandomize=True, deadline=None, database=None)

# --- Reference model ---------------------------------------------------------------------------

ESC = 0x1B
# GSM 03.38 default alphabet in table order, 0x00-0x7F, with ESC (0x1B) left out.
_BASIC_IN_TABLE_ORDER = (
    "@\u00a3$\u00a5\u00e8\u00e9\u00f9\u00ec\u00f2\u00c7\n\u00d8\u00f8\r\u00c5\u00e5"
    "\u0394_\u03a6\u0393\u039b\u03a9\u03a0\u03a8\u03a3\u0398\u039e"  # 0x10-0x1A
    "\u00c6\u00e6\u00df\u00c9"  # 0x1C-0x1F
    " !\"#\u00a4%&'()*+,-./0123456789:;<=>?"
    "\u00a1ABCDEFGHIJKLMNOPQRSTUVWXYZ\u00c4\u00d6\u00d1\u00dc\u00a7"
    "\u00bfabcdefghijklmnopqrstuvwxyz\u00e4\u00f6\u00f1\u00fc\u00e0"
)
GSM_BASIC_CODES: dict[str, int] = {
    character: index if index < ESC else index + 1
    for index, character in enumerate(_BASIC_IN_TABLE_ORDER)
}
# Extension table: the code that follows ESC.
GSM_EXTENSION_CODES: dict[str, int] = {
    "\f": 0x0A,
    "^": 0x14,
    "{": 0x28,
    "}": 0x29,
    "\\": 0x2F,
    "[": 0x3C,
    "~": 0x3D,
    "]": 0x3E,
    "|": 0x40,
    "\u20ac": 0x65,
}
GSM_CHARACTERS = GSM_BASIC_CODES.keys() | GSM_EXTENSION_CODES.keys()

GSM7_SINGLE, GSM7_MULTI = 160, 153
UCS2_SINGLE, UCS2_MULTI = 70, 67


def gsm7_septets(text: str) -> list[int]:
    septets: list[int] = []
    for character in text:
        if character in GSM_EXTENSION_CODES:
            septets += [ESC, GSM_EXTENSION_CODES[character]]
        else:
            septets.append(GSM_BASIC_CODES[character])
    return septets


def utf16_code_units(text: str) -> list[int]:
    data = text.encode("utf-16-le")
    return [int.from_bytes(data[i : i + 2], "little") for i in range(0, len(data), 2)]


def is_high_surrogate(unit: int) -> bool:
    return 0xD800 <= unit <= 0xDBFF


def is_low_surrogate(unit: int) -> bool:
    return 0xDC00 <= unit <= 0xDFFF


def is_all_gsm7(text: str) -> bool:
    return all(character in GSM_CHARACTERS for character in text)


def encode(text: str, encoding: SmsEncoding) -> list[int]:
    return gsm7_septets(text) if encoding == SmsEncoding.GSM7 else utf16_code_units(text)


def reference_encoding(body: str) -> SmsEncoding:
    return SmsEncoding.GSM7 if is_all_gsm7(body) else SmsEncoding.UCS2


def capacities(encoding: SmsEncoding) -> tuple[int, int]:
    return (GSM7_SINGLE, GSM7_MULTI) if encoding == SmsEncoding.GSM7 else (UCS2_SINGLE, UCS2_MULTI)


def is_lead_unit(unit: int, encoding: SmsEncoding) -> bool:
    """A unit that must stay with the one after it: ESC, or the high half of a surrogate pair."""
    return unit == ESC if encoding == SmsEncoding.GSM7 else is_high_surrogate(unit)


def reference_segment_count(body: str) -> int:
    """Cut the encoded unit stream every `multi` units, one unit early if the cut splits a pair."""
    encoding = reference_encoding(body)
    units = encode(body, encoding)
    single, multi = capacities(encoding)
    if not units:
        return 0
    if len(units) <= single:
        return 1
    count = start = 0
    while start < len(units):
        end = min(start + multi, len(units))
        if end < len(units) and is_lead_unit(units[end - 1], encoding):
            end -= 1
        count += 1
        start = end
    return count


def distinct_in_order(characters: list[str]) -> tuple[str, ...]:
    seen: list[str] = []
    for character in characters:
        if character not in seen:
            seen.append(character)
    return tuple(seen)


# --- Strategies ----------------------------------------------------------------------------------

EMOJI = [
    "\U0001f600",  # grinning face
    "\U0001f61c",  # winking face with tongue
    "\U0001f44d",  # thumbs up
    "\U0001f3fd",  # skin tone modifier
    "\U0001f1ee",  # regional indicator I
    "\U0001f308",  # rainbow
]
BMP_CULPRITS = [
    "\u2019",  # right single quotation mark
    "\u201c",  # left double quotation mark
    "\u2014",  # em dash
    "\u00e7",  # c cedilla (only the capital is GSM-7)
    "\u00e1",  # a acute
    "`",  # grave accent
    "\t",  # tab
    "\x1b",  # ESC is not a character of its own
    "\u200d",  # zero width joiner
    "\ufe0f",  # variation selector 16
    "\u221e",  # infinity
]

gsm_basic = st.sampled_from(sorted(GSM_BASIC_CODES))
gsm_extension = st.sampled_from(sorted(GSM_EXTENSION_CODES))
bmp_non_gsm = st.one_of(
    st.sampled_from(BMP_CULPRITS),
    st.characters(max_codepoint=0xFFFF, codec="utf-8").filter(lambda c: c not in GSM_CHARACTERS),
)
astral = st.one_of(st.sampled_from(EMOJI), st.characters(min_codepoint=0x10000, codec="utf-8"))
culprits = st.sampled_from(sorted(GSM_REPLACEMENTS))
# Culprits whose replacement is longer than they are (an ellipsis becomes three full stops).
lengthening_culprits = st.sampled_from(
    sorted(key for key, value in GSM_REPLACEMENTS.items() if len(value) > 1)
)

ALPHABETS = {
    "gsm": gsm_basic,
    "gsm-extension": st.one_of(gsm_basic, gsm_extension),
    "bmp": st.one_of(gsm_basic, gsm_extension, bmp_non_gsm),
    "astral": st.one_of(gsm_basic, astral),
    "mixed": st.one_of(gsm_basic, gsm_extension, bmp_non_gsm, astral),
}
any_character = ALPHABETS["mixed"]

# Run lengths around the limits, in characters of 1 or 2 units.
BOUNDARY_RUNS = [33, 35, 38, 66, 67, 69, 70, 76, 80, 133, 134, 152, 153, 159, 160, 306]


@st.composite
def runs(draw: st.DrawFn, alphabet: st.SearchStrategy[str]) -> str:
    """A few runs of repeated characters: long bodies, with few draws, and pairs anywhere."""
    chunks = draw(
        st.lists(
            st.tuples(alphabet, st.integers(1, 40) | st.sampled_from(BOUNDARY_RUNS)), max_size=6
        )
    )
    return "".join(character * count for character, count in chunks)


@st.composite
def near_a_boundary(draw: st.DrawFn, alphabet: st.SearchStrategy[str]) -> str:
    """A run sized so the body lands within a few units of a segment limit, either side."""
    head = draw(st.text(alphabet, max_size=3))
    filler = draw(alphabet)
    tail = draw(st.text(alphabet, max_size=4))
    encoding = reference_encoding(head + filler + tail)
    fixed = len(encode(head + tail, encoding))
    single, multi = capacities(encoding)
    target = draw(st.sampled_from([single, 2 * multi, 3 * multi])) + draw(st.integers(-3, 3))
    count = max(0, target - fixed) // len(encode(filler, encoding))
    return head + filler * count + tail


def bodies_from(alphabet: st.SearchStrategy[str]) -> st.SearchStrategy[str]:
    return st.one_of(st.text(alphabet, max_size=200), runs(alphabet), near_a_boundary(alphabet))


bodies = st.one_of(*(bodies_from(alphabet) for alphabet in ALPHABETS.values()))
bodies_with_culprits = st.one_of(
    bodies_from(st.one_of(gsm_basic, gsm_extension, culprits)),
    bodies_from(st.one_of(gsm_basic, culprits, astral)),
    bodies_from(st.one_of(lengthening_culprits, culprits, gsm_basic)),
)
# Culprits swapped for at most one character: these can only shrink a message.
one_for_one_culprits = st.sampled_from(
    sorted(key for key, value in GSM_REPLACEMENTS.items() if len(value) <= 1)
)
bodies_with_one_for_one_culprits = st.one_of(
    bodies_from(st.one_of(gsm_basic, gsm_extension, one_for_one_culprits)),
    bodies_from(st.one_of(gsm_basic, gsm_extension, one_for_one_culprits, astral)),
)

# --- Properties --------------------------------------------------------------------------------


@PROPERTY
@given(bodies)
def test_segment_texts_join_back_to_the_body_and_are_counted(body: str) -> None:
    result = analyze_sms(body)
    assert "".join(result.segment_texts) == body
    assert result.segments == len(result.segment_texts)
    assert all(result.segment_texts)
    assert result.characters == len(body)


@PROPERTY
@given(bodies)
def test_every_segment_fits_its_encoding_and_no_pair_is_split(body: str) -> None:
    result = analyze_sms(body)
    encoding = reference_encoding(body)
    whole = encode(body, encoding)
    single, multi = capacities(encoding)
    limit = single if result.segments <= 1 else multi
    assert result.units == len(whole)
    assert result.units_per_segment == limit

    pieces = [encode(text, encoding) for text in result.segment_texts]
    # Cutting the unit stream at the segment boundaries gives back exactly these pieces...
    assert [unit for piece in pieces for unit in piece] == whole
    for piece in pieces:
        assert len(piece) <= limit
        # ...and no piece ends on half a pair or starts on the back half of one.
        assert not is_lead_unit(piece[-1], encoding)
        assert not is_low_surrogate(piece[0])


@PROPERTY
@given(bodies)
def test_one_segment_iff_the_body_fits_and_otherwise_segments_are_packed_greedily(
    body: str,
) -> None:
    result = analyze_sms(body)
    encoding = reference_encoding(body)
    single, multi = capacities(encoding)
    units = len(encode(body, encoding))
    assert (result.segments == 0) == (body == "")
    assert (result.segments == 1) == (0 < units <= single)
    if result.segments > 1:
        texts = result.segment_texts
        for text, following in pairwise(texts):
            used = len(encode(text, encoding))
            next_character = encode(following[0], encoding)
            assert used + len(next_character) > multi, (text, following[0])


@PROPERTY
@given(bodies)
@example("a" * 152 + "{" + "a" * 152)  # 306 septets, but the pair can't straddle septet 153
@example("a" * 66 + "\U0001f600" + "a" * 66)  # 134 units, but the pair can't straddle unit 67
def test_segment_count_matches_a_reference_cut_of_the_encoded_units(body: str) -> None:
    assert analyze_sms(body).segments == reference_segment_count(body)


@PROPERTY
@given(bodies)
@example("a" * 160)
@example("a" * 161)
@example("a" * 306)
@example("a" * 307)
@example("")
def test_the_quick_size_agrees_with_the_full_analysis(body: str) -> None:
    analysis = analyze_sms(body)
    assert sms_size(body) == (analysis.encoding, reference_segment_count(body))


@PROPERTY
@given(bodies)
def test_message_is_gsm7_iff_every_character_is_in_a_gsm_table(body: str) -> None:
    result = analyze_sms(body)
    non_gsm = distinct_in_order([character for character in body if not is_all_gsm7(character)])
    assert (result.encoding == SmsEncoding.GSM7) == is_all_gsm7(body)
    assert result.ucs2_characters == non_gsm


@PROPERTY
@given(st.characters(codec="utf-8"))
def test_single_character_check_agrees_with_the_gsm_tables(character: str) -> None:
    assert is_gsm7(character) == (character in GSM_CHARACTERS)


def test_module_tables_are_exactly_the_gsm_0338_tables() -> None:
    assert len(GSM_BASIC_CODES) == 127
    assert sorted(GSM_BASIC_CODES.values()) == [code for code in range(128) if code != ESC]
    for character in GSM_CHARACTERS:
        assert is_gsm7(character), repr(character)


@PROPERTY
@given(bodies, any_character)
def test_appending_a_character_never_lowers_the_segment_count(body: str, character: str) -> None:
    assert analyze_sms(body + character).segments >= analyze_sms(body).segments


@PROPERTY
@given(bodies_with_culprits)
@example("".join(GSM_REPLACEMENTS) * 2)  # every culprit, each twice
def test_suggested_text_contains_no_culprit_but_those_kept_to_save_segments(body: str) -> None:
    suggestion = suggest_gsm_replacements(body)
    kept = set(suggestion.kept)
    assert not any(c in suggestion.text for c in GSM_REPLACEMENTS if c not in kept)
    culprits = distinct_in_order([c for c in body if c in GSM_REPLACEMENTS])
    assert suggestion.replaced == tuple(c for c in culprits if c not in kept)
    assert suggestion.text == "".join(c if c in kept else GSM_REPLACEMENTS.get(c, c) for c in body)
    assert suggestion.analysis == analyze_sms(suggestion.text)
    # Culprits are kept only when swapping them all would have cost more segments.
    if kept:
        everything = "".join(GSM_REPLACEMENTS.get(c, c) for c in body)
        assert analyze_sms(everything).segments > analyze_sms(body).segments
        assert all(len(GSM_REPLACEMENTS[c]) > 1 for c in kept)


@PROPERTY
@given(bodies_with_one_for_one_culprits)
def test_one_for_one_replacements_never_add_segments(body: str) -> None:
    suggestion = suggest_gsm_replacements(body)
    assert suggestion.analysis.segments <= analyze_sms(body).segments


@PROPERTY
@given(bodies_with_culprits)
@example("\u2026" * 54)  # the shrunk counterexample
def test_suggested_replacements_never_add_segments(body: str) -> None:
    suggestion = suggest_gsm_replacements(body)
    assert suggestion.analysis.segments <= analyze_sms(body).segments
