import pytest

from textdesk.contacts.models import Contact
from textdesk.conversations.models import Conversation, Message
from textdesk.inboxes.models import PhoneNumber
from textdesk.testing import create_conversation


def url(inbox) -> str:
    return f"/inboxes/{inbox.pk}/new/"


def test_texting_a_new_number_creates_contact_conversation_and_queued_message(world, client):
    client.force_login(world.bob)
    response = client.post(
        url(world.shared), {"number": "(617) 555-0177", "body": "Welcome to campus!"}
    )

    contact = Contact.objects.get(phone="+16175550177")
    assert contact.team == world.admissions
    conversation = Conversation.objects.get(contact=contact, inbox=world.shared)
    assert response.status_code == 302
    assert response["Location"] == f"/inboxes/{world.shared.pk}/conversations/{conversation.pk}/"
    message = conversation.messages.get()
    assert (message.direction, message.status, message.body) == (
        "out",
        "queued",
        "Welcome to campus!",
    )
    assert not conversation.needs_reply


def test_texting_a_number_already_in_the_inbox_continues_its_conversation(world, client):
    conversation = create_conversation(world.shared, sender="+16175550177")
    client.force_login(world.bob)
    client.post(url(world.shared), {"number": "+1 617 555 0177", "body": "Following up"})
    assert Conversation.objects.count() == 1
    assert conversation.messages.count() == 2


@pytest.mark.parametrize(
    ("number", "error"),
    [
        ("", "Enter a phone number."),
        ("hello", "is not a phone number"),
        ("+1 617 555", "is not a valid phone number"),
        ("+44 20 7946 0000", "does not look like a mobile number"),  # a London landline
        ("+1 900 555 0100", "does not look like a mobile number"),  # premium rate
        ("+16175550101", "one of our own numbers"),
    ],
)
def test_a_number_that_cannot_be_texted_is_refused_and_nothing_is_written(
    world, client, number, error
):
    client.force_login(world.bob)
    response = client.post(url(world.shared), {"number": number, "body": "Hello"})
    assert response.status_code == 422
    assert error in response.content.decode().replace("&#x27;", "'")
    assert not Contact.objects.exists()
    assert not Message.objects.exists()


def test_an_empty_message_is_refused_before_anything_is_created(world, client):
    client.force_login(world.bob)
    response = client.post(url(world.shared), {"number": "+16175550177", "body": " "})
    assert response.status_code == 422
    assert not Contact.objects.exists()


def test_an_inbox_without_a_number_says_so(world, client):
    PhoneNumber.objects.filter(inbox=world.shared).delete()
    client.force_login(world.bob)
    response = client.post(url(world.shared), {"number": "+16175550177", "body": "Hi"})
    assert response.status_code == 422
    assert "no phone number to send from" in response.content.decode()
    assert not Contact.objects.exists()


def test_the_form_page_renders(world, client):
    client.force_login(world.alice)
    response = client.get(url(world.alice_personal))
    assert response.status_code == 200
    assert 'name="number"' in response.content.decode()
