"""Merge fields in templates, parsed and filled without a database: {first_name|there}."""

import pytest

from textdesk.campaigns.merge import (
    MergeField,
    Rendered,
    TemplateError,
    check_fields,
    fields_in,
    parse,
    render,
)

# --- parse ------------------------------------------------------------------------------------


def test_plain_text_is_one_literal_part():
    assert parse("See you at orientation!") == ["See you at orientation!"]


def test_an_empty_body_has_no_parts():
    assert parse("") == []


def test_a_field_splits_the_text_into_literal_and_field_parts():
    assert parse("Hi {first_name}, welcome.") == [
        "Hi ",
        MergeField("first_name", None),
        ", welcome.",
    ]


def test_a_fallback_is_kept_with_its_field():
    assert parse("{first_name|there}") == [MergeField("first_name", "there")]


def test_an_empty_fallback_is_an_empty_string_not_no_fallback():
    assert parse("{first_name|}") == [MergeField("first_name", "")]
    assert parse("{first_name}") == [MergeField("first_name", None)]


def test_spaces_around_the_name_and_the_fallback_are_ignored():
    assert parse("{ first_name | my friend }") == [MergeField("first_name", "my friend")]


def test_a_fallback_may_contain_a_bar():
    assert parse("{term|fall|spring}") == [MergeField("term", "fall|spring")]


def test_doubled_braces_are_literal_braces_and_not_a_field():
    assert "".join(parse("Use {{first_name}} in templates")) == "Use {first_name} in templates"
    assert fields_in("Use {{first_name}} in templates") == []


def test_a_field_inside_doubled_braces_is_still_a_field():
    assert render("{{{first_name}}}", {"first_name": "Ada"}).text == "{Ada}"


def test_fields_are_listed_in_order_with_repeats():
    assert fields_in("{last_name}, {first_name|there} {last_name}") == [
        MergeField("last_name", None),
        MergeField("first_name", "there"),
        MergeField("last_name", None),
    ]


@pytest.mark.parametrize(
    ("body", "position", "brace"),
    [
        ("{", 1, "{"),
        ("Hi {first_name", 4, "{"),
        ("Hi first_name}", 14, "}"),
        ("Hi {first_name}}", 16, "}"),
        ("Costs {{ and } here", 14, "}"),
    ],
)
def test_a_lone_brace_is_an_error_naming_its_position(body, position, brace):
    with pytest.raises(TemplateError) as error:
        parse(body)
    message = str(error.value)
    assert f"A lone “{brace}” at character {position}" in message
    assert f"write {brace}{brace}" in message


@pytest.mark.parametrize(
    "field",
    ["{First Name}", "{First_Name}", "{1x}", "{}", "{ }", "{first-name}", "{|there}", "{é}"],
)
def test_something_in_braces_that_is_not_a_field_name_is_an_error(field):
    with pytest.raises(TemplateError) as error:
        parse(f"Hi {field}!")
    assert f"“{field}” is not a merge field" in str(error.value)


def test_a_field_name_may_be_forty_characters_but_not_more():
    forty = "a" * 40
    assert fields_in("{" + forty + "}") == [MergeField(forty, None)]
    with pytest.raises(TemplateError):
        parse("{" + forty + "a}")


def test_a_name_with_a_newline_is_not_a_field():
    with pytest.raises(TemplateError):
        parse("{first\nname}")


# --- check_fields -----------------------------------------------------------------------------


def test_built_in_fields_are_always_known():
    check_fields("{first_name} {last_name} {full_name} {phone} {owner_name}", set())


def test_a_custom_field_is_known_when_the_team_has_it():
    check_fields("Your id is {student_id}.", {"student_id"})


def test_an_unknown_field_is_refused_by_name():
    with pytest.raises(TemplateError) as error:
        check_fields("Hi {frist_name|there}", {"student_id"})
    assert str(error.value) == "Unknown merge field: {frist_name}."


def test_several_unknown_fields_are_all_named_once_in_order():
    with pytest.raises(TemplateError) as error:
        check_fields("{zeta} {alpha} {zeta} {first_name}", set())
    assert str(error.value) == "Unknown merge fields: {alpha}, {zeta}."


def test_doubled_braces_are_not_checked_as_fields():
    check_fields("Write {{anything}} here", set())


def test_broken_syntax_is_reported_by_check_fields_too():
    with pytest.raises(TemplateError, match="lone"):
        check_fields("Hi {first_name", set())


# --- render -----------------------------------------------------------------------------------


def test_a_field_is_filled_with_the_contacts_value():
    assert render("Hi {first_name}!", {"first_name": "Ada"}) == Rendered("Hi Ada!", ())


def test_the_fallback_is_used_when_the_value_is_empty_or_blank_or_absent():
    for values in ({"first_name": ""}, {"first_name": "   "}, {}):
        assert render("Hi {first_name|there}!", values) == Rendered("Hi there!", ())


def test_the_value_wins_over_the_fallback():
    assert render("Hi {first_name|there}!", {"first_name": "Ada"}).text == "Hi Ada!"


def test_a_value_is_trimmed():
    assert render("Hi {first_name}!", {"first_name": "  Ada \n"}).text == "Hi Ada!"


def test_an_empty_fallback_fills_nothing_and_is_not_missing():
    assert render("Hi{first_name|}!", {}) == Rendered("Hi!", ())


def test_a_field_without_value_or_fallback_is_missing_and_left_out():
    assert render("Hi {first_name}, id {student_id}.", {"first_name": "Ada"}) == Rendered(
        "Hi Ada, id .", ("student_id",)
    )


def test_a_field_missing_several_times_is_listed_once_in_order_of_appearance():
    rendered = render("{term} {first_name} {term} {first_name} {term}", {})
    assert rendered.missing == ("term", "first_name")


def test_a_field_with_a_fallback_in_one_place_is_still_missing_where_it_has_none():
    rendered = render("{first_name|there} and {first_name}", {})
    assert rendered == Rendered("there and ", ("first_name",))


def test_custom_field_values_are_filled():
    rendered = render("Term: {term|TBD}, id {student_id}", {"student_id": "S-123"})
    assert rendered == Rendered("Term: TBD, id S-123", ())


def test_a_value_with_braces_is_inserted_as_is_and_not_read_as_a_field():
    rendered = render("Hi {first_name}", {"first_name": "{last_name} }{", "last_name": "X"})
    assert rendered == Rendered("Hi {last_name} }{", ())


def test_doubled_braces_render_as_single_braces():
    assert render("{{ {first_name} }}", {"first_name": "Ada"}).text == "{ Ada }"


def test_unicode_text_values_and_fallbacks_come_through_untouched():
    rendered = render("¡Hola {first_name|amigo}! 🎓 {last_name|—}", {"first_name": "Zoë"})
    assert rendered == Rendered("¡Hola Zoë! 🎓 —", ())


def test_line_breaks_in_the_template_are_kept():
    assert render("Hi {first_name}\n\nBye", {"first_name": "Ada"}).text == "Hi Ada\n\nBye"


def test_render_refuses_broken_syntax():
    with pytest.raises(TemplateError):
        render("Hi {first_name", {"first_name": "Ada"})
