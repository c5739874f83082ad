import pytest

from conftest import PUBLIC_URL, TWILIO_ACCOUNT_SID, twilio_signature
from textdesk.contacts.models import Contact
from textdesk.conversations.models import Conversation, Message
from textdesk.inboxes.models import PhoneNumber
from textdesk.testing import STUDENT_NUMBER, at_once, create_world, unique_sid

TWILIO_NUMBER = "+16175550111"
PATH = "/webhooks/twilio/messages"


@pytest.fixture
def twilio_world(world):
    PhoneNumber.objects.filter(inbox=world.shared).update(number=TWILIO_NUMBER, provider="twilio")
    return world


def inbound(**overrides) -> dict:
    params = {
        "MessageSid": unique_sid(),
        "SmsSid": "",
        "AccountSid": TWILIO_ACCOUNT_SID,
        "From": STUDENT_NUMBER,
        "To": TWILIO_NUMBER,
        "Body": "Hi! Is my FAFSA on file?",
        "NumMedia": "0",
        "NumSegments": "1",
        "FromCity": "BOSTON",
        "FromState": "MA",
    }
    params["SmsSid"] = params["MessageSid"]
    params.update(overrides)
    return params


def test_a_signed_text_creates_contact_conversation_and_message(twilio_world, signed_post, client):
    params = inbound()
    response = signed_post(PATH, params)

    assert response.status_code == 200
    assert response["Content-Type"].startswith("text/xml")
    assert response.content.decode().endswith("<Response/>")
    contact = Contact.objects.get(team=twilio_world.admissions, phone=STUDENT_NUMBER)
    conversation = Conversation.objects.get(inbox=twilio_world.shared, contact=contact)
    assert conversation.needs_reply
    message = conversation.messages.get()
    assert message.direction == Message.Direction.INBOUND
    assert message.body == "Hi! Is my FAFSA on file?"
    assert message.provider == "twilio"
    assert message.provider_message_id == params["MessageSid"]
    assert message.our_number == TWILIO_NUMBER
    assert (message.encoding, message.segments) == ("GSM-7", 1)

    client.force_login(twilio_world.bob)
    page = client.get(f"/inboxes/{twilio_world.shared.pk}/conversations/{conversation.pk}/")
    assert "Hi! Is my FAFSA on file?" in page.content.decode()
    listing = client.get(f"/inboxes/{twilio_world.shared.pk}/?show=unreplied")
    assert "Hi! Is my FAFSA on file?" in listing.content.decode()


def test_an_mms_keeps_its_media_urls(twilio_world, signed_post):
    params = inbound(
        Body="",
        NumMedia="2",
        MediaUrl0="https://api.twilio.com/2010-04-01/Accounts/AC1/Messages/MM1/Media/ME1",
        MediaContentType0="image/jpeg",
        MediaUrl1="https://api.twilio.com/2010-04-01/Accounts/AC1/Messages/MM1/Media/ME2",
        MediaContentType1="image/png",
    )
    assert signed_post(PATH, params).status_code == 200
    message = Message.objects.get()
    assert message.media_urls == [params["MediaUrl0"], params["MediaUrl1"]]
    assert message.conversation.preview == "(picture)"


def test_the_same_message_delivered_twice_is_stored_once(twilio_world, signed_post):
    params = inbound()
    assert signed_post(PATH, params).status_code == 200
    assert signed_post(PATH, params).status_code == 200
    assert Message.objects.count() == 1
    assert Contact.objects.count() == 1


def test_a_second_text_from_the_same_number_joins_its_conversation(twilio_world, signed_post):
    signed_post(PATH, inbound(Body="one"))
    signed_post(PATH, inbound(Body="two"))
    conversation = Conversation.objects.get()
    assert list(conversation.messages.order_by("id").values_list("body", flat=True)) == [
        "one",
        "two",
    ]


def test_a_text_to_a_number_that_is_not_ours_is_refused_and_not_stored(twilio_world, signed_post):
    response = signed_post(PATH, inbound(To="+16175550999"))
    assert response.status_code == 404
    assert not Message.objects.exists()
    assert not Contact.objects.exists()


def test_a_text_to_a_simulator_number_through_twilio_is_refused(world, signed_post):
    response = signed_post(PATH, inbound(To=world.charlie_inbox.phone_numbers.get().number))
    assert response.status_code == 404
    assert not Message.objects.exists()


@pytest.mark.parametrize(
    "overrides",
    [
        {"MessageSid": ""},
        {"From": ""},
        {"From": "not a number"},
        {"To": ""},
        {"NumMedia": "many"},
        {"NumMedia": "1"},  # but no MediaUrl0
        {"NumMedia": "99"},
        {"AccountSid": "AC" + "f" * 32},
        {"Body": "x" * 10_001},
        {"NumMedia": "1", "MediaUrl0": "javascript:alert(document.cookie)"},
    ],
    ids=lambda o: ",".join(f"{k}={v[:10]}" for k, v in o.items()),
)
def test_malformed_fields_are_a_400_and_store_nothing(twilio_world, signed_post, overrides):
    response = signed_post(PATH, inbound(**overrides))
    assert response.status_code == 400
    assert response.content  # says what is wrong
    assert not Message.objects.exists()
    assert not Contact.objects.exists()
    assert not Conversation.objects.exists()


def test_only_post_is_allowed(client):
    assert client.get(PATH).status_code == 405


@pytest.mark.django_db(transaction=True)
def test_concurrent_duplicate_deliveries_are_stored_once(settings):
    """Twilio retries a slow webhook while the first delivery is still running."""
    world = create_world()
    PhoneNumber.objects.filter(inbox=world.shared).update(number=TWILIO_NUMBER, provider="twilio")
    params = inbound()
    url = PUBLIC_URL + PATH
    signature = twilio_signature(url, params)

    def deliver() -> int:
        from django.test import Client

        response = Client().post(PATH, params, headers={"X-Twilio-Signature": signature})
        return response.status_code

    statuses = at_once(deliver, deliver, deliver, deliver)

    assert statuses == [200, 200, 200, 200]
    assert Message.objects.count() == 1
    assert Contact.objects.count() == 1
    assert Conversation.objects.count() == 1
