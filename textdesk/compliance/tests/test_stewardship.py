"""One contact's data: export it (as far as the exporter may see), erase it (keeping opt-outs,
pseudonymously), and empty message bodies past the retention period."""

import csv
import io
import json
from datetime import timedelta

import pytest
from django.apps import apps
from django.core.management import call_command
from django.db import models
from django.db.models.functions import Cast

from textdesk.compliance import stewardship
from textdesk.compliance.consent import decide_revocation
from textdesk.compliance.models import (
    AuditEvent,
    ConsentChange,
    EmailNotification,
    ErasedNumber,
    PersonalOptOut,
)
from textdesk.contacts.models import Contact, Segment, Tag
from textdesk.conversations.actions import add_note, send_reply
from textdesk.conversations.models import Conversation, Message, Note
from textdesk.core import clock
from textdesk.media.models import StoredMedia
from textdesk.media.storage import public_url, store_chunks
from textdesk.media.tests.images import png
from textdesk.messaging.status import MessageStatus
from textdesk.phones import pretty
from textdesk.providers.simulator.models import CarrierMessage
from textdesk.testing import STUDENT_NUMBER, create_inbox, drain, receive_text

SECRET_TEXT = "My passport number is ZQ-4471-PLUM"
OPTED_OUT = Contact.Consent.OPTED_OUT
SUBSCRIBED = Contact.Consent.SUBSCRIBED


def student(team) -> Contact:
    return Contact.objects.get(team=team, phone=STUDENT_NUMBER)


def a_rich_history(world) -> Contact:
    """Dana texts the shared inbox (a secret, a picture, an opt-out in words), Alice answers,
    notes it, confirms the opt-out; the team is emailed about it all and the worker runs."""
    world.admissions.notify_emails = "admissions-alerts@example.edu"
    world.admissions.save()
    first = receive_text(world.shared, SECRET_TEXT)
    contact = first.conversation.contact
    contact.first_name, contact.last_name = "Dana", "Reyes"
    contact.fields = {"student_id": "S-99812"}
    contact.owner = world.bob
    contact.save()
    contact.tags.add(Tag.objects.create(team=world.admissions, name="Fall intake"))
    Segment.objects.create(team=world.admissions, name="VIP", kind="static").members.add(contact)
    picture = store_chunks(
        world.admissions, [png()], name="passport.png", source_url="https://api.example/MM1"
    )
    Message.objects.filter(pk=first.pk).update(media_urls=[public_url(picture)])
    conversation = first.conversation
    send_reply(world.alice, conversation, f"Thanks Dana Reyes, about {SECRET_TEXT[-12:]}")
    add_note(world.alice, conversation, f"Dana Reyes ({pretty(STUDENT_NUMBER)}) sent her passport")
    revocation = receive_text(world.shared, "Please stop texting me, Dana here")
    decide_revocation(world.alice, revocation, opt_out_now=True)
    drain()
    return Contact.objects.get(pk=contact.pk)


def text_columns():
    """Every text-like column of every table (JSON included), as (model, field)."""
    for model in apps.get_models():
        # The simulated carrier's records are the other side of the line (the student's own
        # phone), not data Textdesk holds; a real provider keeps those on its own servers.
        if model is CarrierMessage:
            continue
        for field in model._meta.concrete_fields:
            if isinstance(field, models.CharField | models.TextField | models.JSONField):
                yield model, field


def places_holding(needle: str) -> list[str]:
    found = []
    for model, field in text_columns():
        rows = model._default_manager.all()
        if isinstance(field, models.JSONField):
            rows = rows.annotate(_text=Cast(field.name, models.TextField()))
            rows = rows.filter(_text__icontains=needle)
        else:
            rows = rows.filter(**{f"{field.name}__icontains": needle})
        if rows.exists():
            found.append(f"{model._meta.label}.{field.name}")
    return found


# --- Erase --------------------------------------------------------------------------------------


def test_erase_leaves_no_message_text_behind(world, django_capture_on_commit_callbacks):
    contact = a_rich_history(world)
    needles = ["Dana", "Reyes", STUDENT_NUMBER, pretty(STUDENT_NUMBER), "ZQ-4471", "S-99812"]
    assert places_holding("ZQ-4471")  # the history really is there to erase
    assert EmailNotification.objects.filter(sent_at__isnull=False).exists()
    picture = StoredMedia.objects.get()

    with django_capture_on_commit_callbacks(execute=True):  # files go once the erase commits
        erased = stewardship.erase_contact(world.alice, contact)

    for needle in needles:
        assert places_holding(needle) == [], needle
    assert not StoredMedia.objects.exists()
    assert not picture.path.exists()
    contact.refresh_from_db()
    assert contact.phone == erased.pseudonym
    assert len(erased.pseudonym) == 16
    assert erased.pseudonym.startswith("x")
    assert (contact.first_name, contact.last_name, contact.fields) == ("", "", {})
    assert contact.owner is None
    assert not contact.tags.exists()
    assert not contact.static_segments.exists()
    assert set(Message.objects.values_list("body", flat=True)) == {""}
    assert set(Note.objects.values_list("body", flat=True)) == {"[erased]"}
    assert set(Conversation.objects.values_list("preview", flat=True)) == {""}


def test_erase_keeps_the_contact_row_and_its_consent_history_under_a_pseudonym(world):
    receive_text(world.shared, "Hello")
    receive_text(world.shared, "STOP")
    contact = student(world.admissions)
    messages_before = Message.objects.count()

    erased = stewardship.erase_contact(world.alice, contact)

    contact.refresh_from_db()
    assert contact.consent == OPTED_OUT
    change = ConsentChange.objects.get()
    assert (change.contact_id, change.phone, change.detail) == (
        contact.pk,
        erased.pseudonym,
        "STOP",  # the keyword is the evidence of the opt-out, and says nothing of who
    )
    assert Message.objects.count() == messages_before
    event = AuditEvent.objects.get(action="contact.erased")
    assert event.actor == world.alice
    assert event.data["pseudonym"] == erased.pseudonym
    assert event.data["opted_out"] is True
    assert STUDENT_NUMBER not in json.dumps(event.data)
    assert not AuditEvent.objects.filter(data__icontains=STUDENT_NUMBER).exists()


def test_an_opted_out_number_that_texts_again_is_created_opted_out(world):
    receive_text(world.shared, "STOP")
    stewardship.erase_contact(world.alice, student(world.admissions))

    assert not Contact.objects.filter(phone=STUDENT_NUMBER).exists()
    assert ErasedNumber.objects.get().phone_hash != STUDENT_NUMBER
    assert stewardship.consent_for_new_contact(world.admissions.pk, STUDENT_NUMBER) == OPTED_OUT
    # Another team never had their consent; another number was never erased.
    assert stewardship.consent_for_new_contact(world.financial_aid.pk, STUDENT_NUMBER) == SUBSCRIBED
    assert stewardship.consent_for_new_contact(world.admissions.pk, "+16175550199") == SUBSCRIBED


def test_a_subscribed_contact_leaves_no_trace_of_its_number(world):
    receive_text(world.shared, "Hello")
    stewardship.erase_contact(world.alice, student(world.admissions))

    assert not ErasedNumber.objects.exists()
    assert stewardship.consent_for_new_contact(world.admissions.pk, STUDENT_NUMBER) == SUBSCRIBED


def test_erasing_twice_the_same_number_that_came_back_gives_two_pseudonyms(world):
    receive_text(world.shared, "STOP")
    first = stewardship.erase_contact(world.alice, student(world.admissions))
    receive_text(world.shared, "Hello again")  # the wiring would start them opted out
    Contact.objects.filter(phone=STUDENT_NUMBER).update(consent=OPTED_OUT)
    second = stewardship.erase_contact(world.alice, student(world.admissions))

    assert first.pseudonym != second.pseudonym
    assert ErasedNumber.objects.get().opted_out
    assert stewardship.consent_for_new_contact(world.admissions.pk, STUDENT_NUMBER) == OPTED_OUT


def test_a_personal_inbox_opt_out_survives_erasure_and_returns_with_the_number(world):
    receive_text(world.alice_personal, "STOP")
    assert PersonalOptOut.objects.filter(phone=STUDENT_NUMBER).exists()

    erased = stewardship.erase_contact(world.alice, student(world.admissions))

    assert erased.personal_opt_out == "remembered"
    assert not PersonalOptOut.objects.exists()
    assert ConsentChange.objects.filter(scope="personal", phone=erased.pseudonym).exists()
    # The number texts a personal inbox of another team: back on the list at once.
    stewardship.consent_for_new_contact(world.financial_aid.pk, STUDENT_NUMBER)
    assert PersonalOptOut.objects.filter(phone=STUDENT_NUMBER).exists()
    assert not ErasedNumber.objects.filter(team__isnull=True).exists()


def test_a_personal_opt_out_stays_listed_while_another_team_still_knows_the_number(world):
    receive_text(world.alice_personal, "STOP")
    receive_text(world.charlie_inbox, "Hello Financial Aid")

    erased = stewardship.erase_contact(world.alice, student(world.admissions))

    assert erased.personal_opt_out == "kept"
    assert PersonalOptOut.objects.filter(phone=STUDENT_NUMBER).exists()


def test_texts_still_waiting_to_go_out_are_withdrawn(world):
    conversation = receive_text(world.shared).conversation
    reply = send_reply(world.alice, conversation, "We will call you, Dana")

    erased = stewardship.erase_contact(world.alice, conversation.contact)
    drain()

    reply.refresh_from_db()
    assert erased.withdrawn == 1
    assert (reply.status, reply.body, reply.error_code) == (MessageStatus.FAILED, "", "erased")
    assert not CarrierMessage.objects.filter(direction="mt").exists()


def test_erase_is_refused_while_a_text_is_being_handed_to_the_provider(world):
    conversation = receive_text(world.shared, SECRET_TEXT).conversation
    reply = send_reply(world.alice, conversation, "Thanks")
    Message.objects.filter(pk=reply.pk).update(handoff_started_at=clock.now())

    with pytest.raises(stewardship.EraseRefused, match="being handed to the provider"):
        stewardship.erase_contact(world.alice, conversation.contact)

    assert Message.objects.filter(body=SECRET_TEXT).exists()
    assert student(world.admissions).phone == STUDENT_NUMBER
    assert not AuditEvent.objects.filter(action="contact.erased").exists()


def test_a_picture_another_text_still_shows_is_kept(world):
    upload = store_chunks(world.admissions, [png()], name="map.png", user=world.alice)
    conversation = receive_text(world.shared).conversation
    other = receive_text(world.shared, sender="+16175550177").conversation
    send_reply(world.alice, conversation, "Map", media_urls=[public_url(upload)])
    send_reply(world.alice, other, "Map", media_urls=[public_url(upload)])

    erased = stewardship.erase_contact(world.alice, conversation.contact)

    assert erased.media_files == 0
    assert StoredMedia.objects.filter(pk=upload.pk).exists()
    assert upload.path.exists()


def test_only_team_admins_may_erase(world, client):
    contact = receive_text(world.shared).conversation.contact
    url = f"/teams/{world.admissions.pk}/contacts/{contact.pk}/erase/"
    client.force_login(world.bob)
    assert client.post(url, {"confirm": "ERASE"}).status_code == 403
    with pytest.raises(stewardship.EraseRefused):
        stewardship.erase_contact(world.bob, contact)
    assert student(world.admissions).pk == contact.pk


def test_the_erase_page_asks_for_confirmation_then_erases_once(world, client):
    contact = receive_text(world.shared, "STOP").conversation.contact
    url = f"/teams/{world.admissions.pk}/contacts/{contact.pk}/erase/"
    client.force_login(world.alice)

    page = client.get(url)
    assert page.status_code == 200
    assert "Their opt-out is kept" in page.content.decode()
    refused = client.post(url, {"confirm": "yes"})
    assert refused.status_code == 422
    assert "Type ERASE" in refused.content.decode()
    assert student(world.admissions)

    done = client.post(url, {"confirm": "erase"})
    assert done.status_code == 302
    assert done["Location"] == f"/teams/{world.admissions.pk}/contacts/{contact.pk}/"
    assert not Contact.objects.filter(phone=STUDENT_NUMBER).exists()
    assert "already been erased" in client.get(url).content.decode()
    again = client.post(url, {"confirm": "ERASE"})
    assert again.status_code == 422
    assert "already been erased" in again.content.decode()
    assert AuditEvent.objects.filter(action="contact.erased").count() == 1


# --- Export -------------------------------------------------------------------------------------


def export_url(world, contact, kind: str) -> str:
    return f"/teams/{world.admissions.pk}/contacts/{contact.pk}/export.{kind}"


def test_the_json_export_holds_the_conversations_and_the_consent_history(world, client):
    contact = a_rich_history(world)
    client.force_login(world.alice)

    response = client.get(export_url(world, contact, "json"))

    assert response.status_code == 200
    assert response["Content-Disposition"] == f'attachment; filename="contact-{contact.pk}.json"'
    assert "no-store" in response["Cache-Control"]
    data = json.loads(response.content)
    assert data["contact"]["phone"] == STUDENT_NUMBER
    assert (data["contact"]["first_name"], data["contact"]["tags"]) == ("Dana", ["Fall intake"])
    assert data["contact"]["fields"] == {"student_id": "S-99812"}
    assert data["lists"] == ["VIP"]
    assert data["consent"]["state"] == OPTED_OUT
    [change] = data["consent"]["history"]
    assert (change["cause"], change["by"]) == ("confirmed", "Alice Archer")
    [conversation] = data["conversations"]
    assert conversation["inbox"] == "Admissions"
    bodies = [(m["direction"], m["body"], m["by"]) for m in conversation["messages"]]
    assert bodies[0] == ("inbound", SECRET_TEXT, "contact")
    assert ("outbound", "Thanks Dana Reyes, about ZQ-4471-PLUM", "Alice Archer") in bodies
    assert conversation["messages"][0]["media_urls"]
    assert "sent her passport" in conversation["notes"][0]["body"]
    event = AuditEvent.objects.get(action="contact.exported")
    assert (event.actor, event.data["format"], event.data["contact_id"]) == (
        world.alice,
        "json",
        contact.pk,
    )


def test_the_csv_export_has_a_row_per_message(world, client):
    contact = a_rich_history(world)
    client.force_login(world.alice)

    response = client.get(export_url(world, contact, "csv"))

    assert response.status_code == 200
    rows = list(csv.reader(io.StringIO(response.content.decode())))
    assert rows[0] == ["time", "inbox", "direction", "body", "status", "by", "media"]
    assert len(rows) - 1 == Message.objects.filter(conversation__contact=contact).count()
    assert rows[1][1:4] == ["Admissions", "inbound", SECRET_TEXT]
    assert [r[0] for r in rows[1:]] == sorted(r[0] for r in rows[1:])
    assert AuditEvent.objects.get(action="contact.exported").data["format"] == "csv"


def test_export_respects_inbox_access_for_non_admins(world, client):
    deans = create_inbox(world.admissions, "Deans", "+16175550104", members=(world.alice,))
    receive_text(world.shared, "To the shared inbox")
    receive_text(world.alice_personal, "To Alice's own line")
    receive_text(deans, "To the deans")
    contact = student(world.admissions)

    client.force_login(world.bob)
    bob = json.loads(client.get(export_url(world, contact, "json")).content)
    client.force_login(world.alice)
    alice = json.loads(client.get(export_url(world, contact, "json")).content)

    assert [c["inbox"] for c in bob["conversations"]] == ["Admissions"]
    assert "inboxes the exporting user may open" in bob["scope"]
    # A team admin answers a request for one's data: every inbox of the team.
    assert sorted(c["inbox"] for c in alice["conversations"]) == [
        "Admissions",
        "Alice's line",
        "Deans",
    ]
    client.force_login(world.bob)
    csv_text = client.get(export_url(world, contact, "csv")).content.decode()
    assert "To the shared inbox" in csv_text
    assert "To the deans" not in csv_text
    assert "Alice's own line" not in csv_text


def test_an_erased_contact_exports_only_its_pseudonymous_remains(world, client):
    contact = a_rich_history(world)
    erased = stewardship.erase_contact(world.alice, contact)
    client.force_login(world.alice)

    data = json.loads(client.get(export_url(world, contact, "json")).content)

    assert data["contact"]["phone"] == erased.pseudonym
    assert data["contact"]["erased"] is True
    assert "Dana" not in json.dumps(data)


# --- Retention ----------------------------------------------------------------------------------


def age(message: Message, days: int) -> None:
    Message.objects.filter(pk=message.pk).update(created_at=clock.now() - timedelta(days=days))


def test_retention_redacts_only_messages_older_than_n_days(world, settings):
    settings.MESSAGE_RETENTION_DAYS = 30
    old = receive_text(world.shared, "An old secret")
    recent = receive_text(world.shared, "A recent question")
    quiet = receive_text(world.shared, "Long ago", sender="+16175550177")
    for message in (old, quiet):
        age(message, 31)
    age(recent, 29)
    Conversation.objects.filter(pk=quiet.conversation_id).update(
        last_message_at=clock.now() - timedelta(days=31)
    )

    assert stewardship.apply_retention() == 2

    old.refresh_from_db()
    recent.refresh_from_db()
    assert (old.body, recent.body) == ("", "A recent question")
    # A conversation quiet since then loses its preview; a live one keeps the recent text's.
    assert Conversation.objects.get(pk=quiet.conversation_id).preview == ""
    assert Conversation.objects.get(pk=recent.conversation_id).preview == "A recent question"
    event = AuditEvent.objects.get(action="messages.retention_applied")
    assert (event.team_id, event.data["messages"], event.data["days"]) == (
        world.admissions.pk,
        2,
        30,
    )
    assert stewardship.apply_retention() == 0  # already empty: nothing to do twice


def test_retention_is_off_while_the_setting_is_zero(world, settings):
    settings.MESSAGE_RETENTION_DAYS = 0
    age(receive_text(world.shared, "Kept forever"), 3650)

    assert stewardship.apply_retention() == 0
    assert Message.objects.filter(body="Kept forever").exists()


def test_the_command_dry_run_counts_and_changes_nothing(world, settings):
    settings.MESSAGE_RETENTION_DAYS = 0
    message = receive_text(world.shared, "From last year")
    age(message, 400)
    out = io.StringIO()

    call_command("apply_retention", "--days", "365", "--dry-run", stdout=out)

    assert "Would empty 1 messages" in out.getvalue()
    assert Message.objects.filter(body="From last year").exists()
    assert not AuditEvent.objects.filter(action="messages.retention_applied").exists()

    call_command("apply_retention", "--days", "365", stdout=out)

    assert "Emptied 1 messages" in out.getvalue()
    assert not Message.objects.filter(body="From last year").exists()


def test_the_command_says_when_retention_is_off(world, settings):
    settings.MESSAGE_RETENTION_DAYS = 0
    out = io.StringIO()
    call_command("apply_retention", stdout=out)
    assert "Retention is off" in out.getvalue()


def test_the_worker_empties_a_backlog_a_few_batches_at_a_time(world, settings, monkeypatch):
    settings.MESSAGE_RETENTION_DAYS = 30
    monkeypatch.setattr(stewardship, "RETENTION_BATCH", 1)
    for body in ("First", "Second", "Third"):
        age(receive_text(world.shared, body), 40)

    assert stewardship.apply_retention(max_batches=2) == 2
    assert stewardship.apply_retention(max_batches=2) == 1
    assert set(Message.objects.values_list("body", flat=True)) == {""}


def test_the_contact_data_card_offers_exports_to_members_and_erase_to_admins(world):
    from django.template.loader import render_to_string

    contact = receive_text(world.shared).conversation.contact
    context = {"team": world.admissions, "contact": contact}
    member = render_to_string("compliance/_contact_data.html", {**context, "team_admin": False})
    admin = render_to_string("compliance/_contact_data.html", {**context, "team_admin": True})

    assert export_url(world, contact, "json") in member
    assert export_url(world, contact, "csv") in member
    assert "erase/" not in member
    assert f"/contacts/{contact.pk}/erase/" in admin
    stewardship.erase_contact(world.alice, contact)
    contact.refresh_from_db()
    erased = render_to_string("compliance/_contact_data.html", {**context, "team_admin": True})
    assert "has been erased" in erased
    assert "erase/" not in erased


def test_an_erased_number_that_texts_again_or_is_imported_or_typed_starts_opted_out(world):
    """The wiring: every way a contact is created for a number honours an earlier opt-out."""
    from textdesk.compliance.stewardship import erase_contact
    from textdesk.conversations.actions import SendRefused, start_conversation
    from textdesk.testing import STUDENT_NUMBER, receive_text

    receive_text(world.shared, "STOP")
    erase_contact(world.alice, Contact.objects.get(team=world.admissions, phone=STUDENT_NUMBER))

    back = receive_text(world.shared, "Hi again, is the open day still on?")
    contact = back.conversation.contact
    assert contact.phone == STUDENT_NUMBER
    contact.refresh_from_db()
    assert contact.consent == Contact.Consent.OPTED_OUT
    assert contact.consent_changes.get().cause == "erased"

    erase_contact(world.alice, contact)
    with pytest.raises(SendRefused, match="opted out"):
        start_conversation(world.bob, world.shared, STUDENT_NUMBER, "Hello?")
    assert not Contact.objects.filter(team=world.admissions, phone=STUDENT_NUMBER).exists()
