"""Team templates: saving with merge-field checks, the pages, the preview with its meter, and
inserting a template into a reply, each only ever within the template's own team."""

import html
import re

import pytest

from textdesk.campaigns.actions import TemplateRefused, delete_template, save_template
from textdesk.campaigns.models import MessageTemplate
from textdesk.compliance.models import AuditEvent
from textdesk.contacts.models import ContactField
from textdesk.testing import (
    STUDENT_NUMBER,
    create_contact,
    create_conversation,
)

OTHER_STUDENT = "+16175550177"


def new_template(world, name="Welcome", body="Hi {first_name|there}!", team=None, user=None):
    return save_template(user or world.alice, team or world.admissions, name=name, body=body)


def list_url(team) -> str:
    return f"/teams/{team.pk}/templates/"


def new_url(team) -> str:
    return f"/teams/{team.pk}/templates/new/"


def edit_url(template) -> str:
    return f"/teams/{template.team_id}/templates/{template.pk}/"


def preview_url(team) -> str:
    return f"/teams/{team.pk}/templates/preview/"


def insert_url(conversation, template) -> str:
    return (
        f"/inboxes/{conversation.inbox_id}/conversations/{conversation.pk}/templates/{template.pk}/"
    )


def replace_button_text(page: str) -> str | None:
    """The text the meter's "Replace ..." button would put in the box, or None if no button."""
    found = re.search(r'class="link replace-culprits" data-text="([^"]*)"', page)
    return html.unescape(found.group(1)) if found else None


def reply_box_templates(page: str) -> list[str]:
    select = re.search(r'<select class="insert-template".*?</select>', page, re.S)
    if select is None:
        return []
    return [html.unescape(name) for name in re.findall(r'<option value="\d+">([^<]*)<', select[0])]


# --- saving -----------------------------------------------------------------------------------


def test_a_template_is_saved_for_its_team_with_its_name_and_text_and_audited(world):
    template = new_template(world, name="  Welcome   back ", body="Hi {first_name|there}!")

    template.refresh_from_db()
    assert (template.team, template.name, template.body, template.created_by) == (
        world.admissions,
        "Welcome back",
        "Hi {first_name|there}!",
        world.alice,
    )
    event = AuditEvent.objects.get(action="template.saved")
    assert event.actor == world.alice
    assert (event.team_id, event.data) == (world.admissions.pk, {"template_id": template.pk})


def test_an_unknown_merge_field_is_refused_naming_it_and_nothing_is_saved(world):
    with pytest.raises(TemplateRefused) as refused:
        new_template(world, body="Hi {first_name}, your id is {student_id}.")
    assert str(refused.value) == "Unknown merge field: {student_id}."
    assert not MessageTemplate.objects.exists()
    assert not AuditEvent.objects.filter(action="template.saved").exists()


def test_a_custom_field_the_team_keeps_is_accepted(world):
    ContactField.objects.create(team=world.admissions, key="student_id", label="Student ID")
    template = new_template(world, body="Your id is {student_id|on its way}.")
    assert MessageTemplate.objects.get().pk == template.pk


def test_a_custom_field_of_another_team_is_unknown(world):
    ContactField.objects.create(team=world.financial_aid, key="award", label="Award")
    with pytest.raises(TemplateRefused, match=r"Unknown merge field: \{award\}\."):
        new_template(world, body="Your award: {award}")
    assert not MessageTemplate.objects.exists()


def test_broken_brace_syntax_is_refused_with_where_it_is(world):
    with pytest.raises(TemplateRefused, match=re.escape("A lone “{” at character 4")):
        new_template(world, body="Hi {first_name")
    assert not MessageTemplate.objects.exists()


def test_a_duplicate_name_in_the_same_team_is_refused_whatever_its_case(world):
    new_template(world, name="Welcome", body="One")
    for name in ("Welcome", "welcome", " WELCOME "):
        with pytest.raises(TemplateRefused, match="There is already a template called"):
            new_template(world, name=name, body="Two")
    assert list(MessageTemplate.objects.values_list("body", flat=True)) == ["One"]


def test_the_same_name_in_another_team_is_fine(world):
    new_template(world, name="Welcome", body="Admissions says hi")
    other = new_template(world, name="Welcome", body="Aid says hi", team=world.financial_aid)
    assert other.team == world.financial_aid
    assert MessageTemplate.objects.filter(name="Welcome").count() == 2


def test_a_template_saved_again_under_its_own_name_is_not_a_clash(world):
    template = new_template(world, name="Welcome", body="Old")
    save_template(world.bob, world.admissions, name="Welcome", body="New", template=template)
    template.refresh_from_db()
    assert template.body == "New"
    assert MessageTemplate.objects.count() == 1


def test_an_edit_cannot_take_the_name_of_another_template(world):
    new_template(world, name="Welcome", body="One")
    reminder = new_template(world, name="Reminder", body="Two")
    with pytest.raises(TemplateRefused, match="already a template called 'welcome'"):
        save_template(world.alice, world.admissions, name="welcome", body="Two", template=reminder)
    reminder.refresh_from_db()
    assert reminder.name == "Reminder"


@pytest.mark.parametrize("name", ["", "   ", "\n\t"])
def test_an_empty_name_is_refused(world, name):
    with pytest.raises(TemplateRefused, match=re.escape("Give the template a name.")):
        new_template(world, name=name)
    assert not MessageTemplate.objects.exists()


@pytest.mark.parametrize("body", ["", "   ", "\n\n"])
def test_an_empty_text_is_refused(world, body):
    with pytest.raises(TemplateRefused, match=re.escape("Write the template's text.")):
        new_template(world, body=body)
    assert not MessageTemplate.objects.exists()


def test_a_text_of_1600_characters_is_accepted_and_1601_refused(world):
    new_template(world, name="Long", body="a" * 1600)
    with pytest.raises(TemplateRefused, match=re.escape("A template is at most 1,600 characters.")):
        new_template(world, name="Longer", body="a" * 1601)
    assert list(MessageTemplate.objects.values_list("name", flat=True)) == ["Long"]


def test_a_refused_edit_leaves_the_template_as_it_was(world):
    template = new_template(world, name="Welcome", body="Hi {first_name}")
    with pytest.raises(TemplateRefused):
        save_template(
            world.alice, world.admissions, name="Renamed", body="Hi {nope}", template=template
        )
    template.refresh_from_db()
    assert (template.name, template.body) == ("Welcome", "Hi {first_name}")


def test_a_long_name_that_clashes_once_cut_to_100_characters_is_refused_plainly(world):
    new_template(world, name="x" * 100, body="One")
    with pytest.raises(TemplateRefused):
        new_template(world, name="x" * 120, body="Two")


def test_deleting_a_template_removes_it_and_is_audited(world):
    template = new_template(world)
    delete_template(world.bob, template)
    assert not MessageTemplate.objects.exists()
    event = AuditEvent.objects.get(action="template.deleted")
    assert (event.actor, event.data["name"]) == (world.bob, "Welcome")


# --- pages ------------------------------------------------------------------------------------


def test_the_list_shows_the_teams_templates_by_name_and_no_other_teams(world, client):
    new_template(world, name="Welcome", body="Hi {first_name|there}!")
    new_template(world, name="Deadline", body="Apply by Friday")
    new_template(world, name="Aid award", body="Your award is ready", team=world.financial_aid)
    client.force_login(world.bob)

    response = client.get(list_url(world.admissions))

    assert response.status_code == 200
    page = response.content.decode()
    assert page.index("Deadline") < page.index("Welcome")
    assert "Hi {first_name|there}!" in page
    assert "Aid award" not in page
    assert "Your award is ready" not in page


def test_the_list_says_when_there_are_no_templates(world, client):
    new_template(world, team=world.financial_aid)
    client.force_login(world.alice)
    assert "No templates yet." in client.get(list_url(world.admissions)).content.decode()


def test_a_template_is_created_through_the_new_page(world, client):
    ContactField.objects.create(team=world.admissions, key="student_id", label="Student ID")
    client.force_login(world.alice)

    form = client.get(new_url(world.admissions))
    assert form.status_code == 200
    assert "{student_id}" in form.content.decode()  # the team's fields are offered

    response = client.post(
        new_url(world.admissions), {"name": "Id", "body": "Your id: {student_id|soon}"}
    )

    assert response.status_code == 302
    assert response.url == list_url(world.admissions)
    template = MessageTemplate.objects.get()
    assert (template.team, template.name, template.body, template.created_by) == (
        world.admissions,
        "Id",
        "Your id: {student_id|soon}",
        world.alice,
    )


def test_the_new_page_refuses_an_unknown_field_keeping_what_was_typed(world, client):
    client.force_login(world.alice)
    response = client.post(new_url(world.admissions), {"name": "Oops", "body": "Hi {frist_name}"})
    assert response.status_code == 422
    page = response.content.decode()
    assert "Unknown merge field: {frist_name}." in page
    assert 'value="Oops"' in page
    assert ">Hi {frist_name}</textarea>" in page
    assert not MessageTemplate.objects.exists()


def test_the_new_page_refuses_a_duplicate_name(world, client):
    new_template(world, name="Welcome", body="One")
    client.force_login(world.alice)
    response = client.post(new_url(world.admissions), {"name": "welcome", "body": "Two"})
    assert response.status_code == 422
    assert "There is already a template called" in response.content.decode()
    assert MessageTemplate.objects.count() == 1


def test_a_template_is_changed_through_its_page(world, client):
    template = new_template(world, name="Welcome", body="Hi {first_name|there}!")
    client.force_login(world.bob)

    form = client.get(edit_url(template))
    assert form.status_code == 200
    assert 'value="Welcome"' in form.content.decode()
    assert ">Hi {first_name|there}!</textarea>" in form.content.decode()

    response = client.post(edit_url(template), {"name": "Hello", "body": "Hello {first_name|}"})

    assert response.status_code == 302
    template.refresh_from_db()
    assert (template.name, template.body) == ("Hello", "Hello {first_name|}")
    assert MessageTemplate.objects.count() == 1


def test_a_refused_change_through_the_page_leaves_the_template_as_it_was(world, client):
    template = new_template(world, name="Welcome", body="Hi {first_name|there}!")
    client.force_login(world.alice)
    response = client.post(edit_url(template), {"name": "Welcome", "body": "x" * 1601})
    assert response.status_code == 422
    assert "A template is at most 1,600 characters." in response.content.decode()
    template.refresh_from_db()
    assert template.body == "Hi {first_name|there}!"


def test_a_template_is_deleted_through_its_page(world, client):
    template = new_template(world)
    keep = new_template(world, name="Keep", body="Kept")
    client.force_login(world.alice)
    response = client.post(edit_url(template), {"delete": "1", "name": "", "body": ""})
    assert response.status_code == 302
    assert response.url == list_url(world.admissions)
    assert list(MessageTemplate.objects.all()) == [keep]


def test_the_edit_page_offers_the_teams_contacts_for_the_preview_only(world, client):
    template = new_template(world)
    create_contact(world.admissions, first_name="Ada", last_name="Lovelace")
    create_contact(world.financial_aid, OTHER_STUDENT, first_name="Grace", last_name="Hopper")
    client.force_login(world.alice)
    page = client.get(edit_url(template)).content.decode()
    assert "Ada Lovelace" in page
    assert "Grace Hopper" not in page


def test_signed_out_visitors_are_sent_to_sign_in(world, client):
    template = new_template(world)
    for url in (list_url(world.admissions), new_url(world.admissions), edit_url(template)):
        response = client.get(url)
        assert response.status_code == 302, url
        assert "/login" in response.url, url
    assert client.post("/sms/meter/", {"body": "Hi"}).status_code == 302


# --- preview and meter ------------------------------------------------------------------------


def preview(client, team, body, contact=None):
    data = {"body": body, "contact": str(contact.pk) if contact else ""}
    response = client.post(preview_url(team), data)
    assert response.status_code == 200
    return response.content.decode()


def test_the_preview_shows_the_text_filled_for_the_chosen_contact(world, client):
    ContactField.objects.create(team=world.admissions, key="term", label="Term")
    ada = create_contact(
        world.admissions,
        first_name="Ada",
        last_name="Lovelace",
        owner=world.alice,
        fields={"term": "Fall 2026"},
    )
    client.force_login(world.alice)

    page = preview(
        client, world.admissions, "Hi {first_name|there}, {owner_name} here: {term}.", ada
    )

    assert "Hi Ada, Alice Archer here: Fall 2026." in page
    assert "No value and no fallback" not in page
    assert "GSM-7 · 1 segment · 37/160" in page


def test_the_preview_without_a_contact_shows_the_fallbacks(world, client):
    client.force_login(world.alice)
    page = preview(client, world.admissions, "Hi {first_name|there}!")
    assert "Hi there!" in page


def test_the_preview_warns_of_each_field_with_no_value_and_no_fallback(world, client):
    ContactField.objects.create(team=world.admissions, key="term", label="Term")
    ada = create_contact(world.admissions, first_name="Ada")
    client.force_login(world.alice)

    page = preview(client, world.admissions, "{last_name}: {term} {last_name} {first_name}", ada)

    assert "No value and no fallback for {last_name}, {term} for Ada" in page
    assert "add a fallback, e.g. {last_name|there}" in page
    assert page.count("{last_name}") == 1


def test_the_preview_of_an_unusable_text_says_why(world, client):
    client.force_login(world.alice)
    page = preview(client, world.admissions, "Hi {frist_name}")
    assert "Unknown merge field: {frist_name}." in page
    assert "segment" not in page


def test_the_preview_ignores_a_contact_of_another_team(world, client):
    grace = create_contact(world.financial_aid, first_name="Grace")
    client.force_login(world.alice)
    page = preview(client, world.admissions, "Hi {first_name|there}!", grace)
    assert "Hi there!" in page
    assert "Grace" not in page


def test_the_preview_escapes_what_contacts_contain(world, client):
    contact = create_contact(world.admissions, first_name="<b>Bold</b>")
    client.force_login(world.alice)
    page = preview(client, world.admissions, "Hi {first_name}", contact)
    assert "<b>Bold</b>" not in page
    assert "&lt;b&gt;Bold&lt;/b&gt;" in page


def test_the_preview_counts_segments_after_the_fields_are_filled(world, client):
    short = create_contact(world.admissions, first_name="Al")
    long = create_contact(world.admissions, OTHER_STUDENT, first_name="Bartholomew-Maximilian")
    client.force_login(world.alice)
    body = "x" * 150 + " {first_name}"
    assert "GSM-7 · 1 segment · 153/160" in preview(client, world.admissions, body, short)
    assert "GSM-7 · 2 segments · 173/153 per segment" in preview(
        client, world.admissions, body, long
    )


def test_the_preview_names_the_ucs2_culprits_and_offers_their_gsm_replacements(world, client):
    ada = create_contact(world.admissions, first_name="Ada")
    client.force_login(world.alice)

    page = preview(
        client, world.admissions, "Hi {first_name}\u00a0\u2014 it\u2019s \u201con\u201d\u2026", ada
    )

    assert "UCS-2 · 1 segment" in page
    culprits = re.search(r"Sent as UCS-2 because of (.*?)\.</span>", page, re.S)[1]
    assert re.findall(r"<code>(.*?)</code>", culprits) == [
        "\u00a0",
        "\u2014",
        "\u2019",
        "\u201c",
        "\u201d",
        "\u2026",
    ]
    button = re.search(r'class="link replace-culprits".*?</button>', page, re.S)[0]
    assert re.findall(r"<code>(.*?)</code>", button) == [
        "\u00a0",
        "\u2014",
        "\u2019",
        "\u201c",
        "\u201d",
        "\u2026",
    ]
    assert "(1 segment)" in button


def test_the_preview_offers_no_replacement_for_letters_outside_gsm(world, client):
    zoe = create_contact(world.admissions, first_name="Zoë")
    client.force_login(world.alice)
    page = preview(client, world.admissions, "Hi {first_name}", zoe)
    assert "UCS-2" in page
    assert "<code>ë</code>" in page
    assert replace_button_text(page) is None


def test_the_replace_suggestion_in_a_template_preview_keeps_the_merge_fields(world, client):
    ada = create_contact(world.admissions, first_name="Ada")
    client.force_login(world.alice)
    page = preview(client, world.admissions, "Hi {first_name|there} \u2014 it\u2019s on", ada)
    assert replace_button_text(page) == "Hi {first_name|there} - it's on"


def test_the_reply_meter_shows_gsm7_for_plain_text(world, client):
    client.force_login(world.bob)
    response = client.post("/sms/meter/", {"body": "See you at 5 {ok}"})
    assert response.status_code == 200
    page = response.content.decode()
    assert "GSM-7 · 1 segment · 19/160" in page  # { and } cost two septets each
    assert "UCS-2" not in page
    assert replace_button_text(page) is None


def test_the_reply_meter_names_the_culprits_and_offers_the_replacement(world, client):
    client.force_login(world.bob)
    response = client.post("/sms/meter/", {"body": "It\u2019s done\u2026 \u201cthanks\u201d"})
    page = response.content.decode()
    assert "UCS-2 · 1 segment" in page
    assert "<code>\u2019</code> <code>\u2026</code> <code>\u201c</code> <code>\u201d</code>" in page
    assert replace_button_text(page) == 'It\'s done... "thanks"'


def test_the_reply_meter_of_an_empty_box_is_zero_segments(world, client):
    client.force_login(world.bob)
    page = client.post("/sms/meter/", {"body": ""}).content.decode()
    assert "GSM-7 · 0 segments · 0/160" in page


# --- inserting into a reply -------------------------------------------------------------------


def test_inserting_a_template_fills_it_for_the_conversations_contact(world, client):
    ContactField.objects.create(team=world.admissions, key="student_id", label="Student ID")
    ada = create_contact(
        world.admissions, first_name="Ada", owner=world.bob, fields={"student_id": "S-42"}
    )
    conversation = create_conversation(world.shared)
    assert conversation.contact == ada
    template = new_template(
        world, body="Hi {first_name|there}, {owner_name} here. Id {student_id}, {phone}."
    )
    client.force_login(world.alice)

    response = client.get(insert_url(conversation, template))

    assert response.status_code == 200
    assert response.json() == {
        "text": "Hi Ada, Bob Baker here. Id S-42, (617) 555-0142.",
        "missing": [],
    }


def test_inserting_a_template_reports_the_fields_the_contact_lacks(world, client):
    ContactField.objects.create(team=world.admissions, key="term", label="Term")
    conversation = create_conversation(world.shared)  # an unknown number: no name
    template = new_template(world, body="Hi {first_name|there} {last_name}, {term} {last_name}")
    client.force_login(world.bob)

    response = client.get(insert_url(conversation, template))

    assert response.status_code == 200
    assert response.json() == {"text": "Hi there ,  ", "missing": ["last_name", "term"]}


def test_a_template_can_be_inserted_in_any_inbox_of_its_team(world, client):
    create_contact(world.admissions, first_name="Ada")
    conversation = create_conversation(world.alice_personal)
    template = new_template(world)
    client.force_login(world.alice)
    response = client.get(insert_url(conversation, template))
    assert response.json() == {"text": "Hi Ada!", "missing": []}


def test_a_template_of_another_team_cannot_be_inserted_into_an_inbox(world, client):
    """Even by someone in both teams: the template must belong to the inbox's team."""
    aid = new_template(world, name="Aid", body="Aid: {first_name}", team=world.financial_aid)
    conversation = create_conversation(world.shared)
    client.force_login(world.alice)
    response = client.get(insert_url(conversation, aid))
    assert response.status_code == 404
    assert b"Aid:" not in response.content


def test_charlie_cannot_insert_an_admissions_template_into_his_own_conversation(world, client):
    template = new_template(world, body="Secret admissions text {first_name|there}")
    conversation = create_conversation(world.charlie_inbox)
    client.force_login(world.charlie)
    response = client.get(insert_url(conversation, template))
    assert response.status_code == 404
    assert b"Secret" not in response.content


def test_charlie_cannot_insert_into_an_admissions_conversation(world, client):
    template = new_template(world)
    conversation = create_conversation(world.shared)
    client.force_login(world.charlie)
    assert client.get(insert_url(conversation, template)).status_code == 404


def test_a_conversation_is_not_reachable_through_another_inbox_to_insert_a_template(world, client):
    template = new_template(world)
    conversation = create_conversation(world.alice_personal)
    client.force_login(world.bob)
    url = f"/inboxes/{world.shared.pk}/conversations/{conversation.pk}/templates/{template.pk}/"
    assert client.get(url).status_code == 404


def test_inserting_a_template_that_no_longer_exists_is_404(world, client):
    template = new_template(world)
    conversation = create_conversation(world.shared)
    url = insert_url(conversation, template)
    template.delete()
    client.force_login(world.alice)
    assert client.get(url).status_code == 404


def test_the_reply_box_offers_only_the_teams_templates(world, client):
    new_template(world, name="Welcome")
    new_template(world, name="Deadline", body="Apply by Friday")
    new_template(world, name="Aid award", body="Your award", team=world.financial_aid)
    conversation = create_conversation(world.shared)
    client.force_login(world.bob)

    page = client.get(f"/inboxes/{world.shared.pk}/conversations/{conversation.pk}/")

    assert page.status_code == 200
    html_page = page.content.decode()
    assert reply_box_templates(html_page) == ["Deadline", "Welcome"]
    expected_url = f"/inboxes/{world.shared.pk}/conversations/{conversation.pk}/templates/0/"
    assert f'data-url="{expected_url}"' in html_page


def test_the_reply_box_has_no_template_picker_when_the_team_has_none(world, client):
    new_template(world, name="Aid award", body="Your award", team=world.financial_aid)
    conversation = create_conversation(world.shared)
    client.force_login(world.alice)
    page = client.get(f"/inboxes/{world.shared.pk}/conversations/{conversation.pk}/")
    assert page.status_code == 200
    assert "insert-template" not in page.content.decode()


def test_charlies_reply_box_does_not_offer_admissions_templates(world, client):
    new_template(world, name="Welcome")
    new_template(world, name="Aid award", body="Your award", team=world.financial_aid)
    conversation = create_conversation(world.charlie_inbox, sender=STUDENT_NUMBER)
    client.force_login(world.charlie)
    page = client.get(f"/inboxes/{world.charlie_inbox.pk}/conversations/{conversation.pk}/")
    assert reply_box_templates(page.content.decode()) == ["Aid award"]


# --- access to the template pages ---------------------------------------------------------------


def test_charlie_gets_404_on_every_admissions_template_page(world, client):
    template = new_template(world, name="Welcome", body="Secret {first_name|there}")
    client.force_login(world.charlie)

    for url in (list_url(world.admissions), new_url(world.admissions), edit_url(template)):
        assert client.get(url).status_code == 404, url
    assert client.post(preview_url(world.admissions), {"body": "Hi"}).status_code == 404
    assert client.post(new_url(world.admissions), {"name": "Mine", "body": "Hi"}).status_code == 404
    changed = client.post(edit_url(template), {"name": "Hacked", "body": "Hacked"})
    assert changed.status_code == 404
    deleted = client.post(edit_url(template), {"delete": "1"})
    assert deleted.status_code == 404

    template.refresh_from_db()
    assert (template.name, template.body) == ("Welcome", "Secret {first_name|there}")
    assert MessageTemplate.objects.count() == 1


def test_a_template_is_not_reachable_through_another_teams_url(world, client):
    """Alice is in Admissions only; Charlie (Financial Aid) asks for Admissions' template
    under his own team's address."""
    template = new_template(world, name="Welcome", body="Secret")
    client.force_login(world.charlie)
    url = f"/teams/{world.financial_aid.pk}/templates/{template.pk}/"
    assert client.get(url).status_code == 404
    assert client.post(url, {"delete": "1"}).status_code == 404
    assert client.post(url, {"name": "Mine", "body": "Mine"}).status_code == 404
    template.refresh_from_db()
    assert (template.team, template.name, template.body) == (world.admissions, "Welcome", "Secret")
