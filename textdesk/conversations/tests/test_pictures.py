"""Pictures: attached to replies, and fetched from inbound MMS (never from private addresses)."""

from django.core.files.uploadedfile import SimpleUploadedFile

from conftest import TWILIO_ACCOUNT_SID, TWILIO_AUTH_TOKEN
from textdesk.conversations.models import Message, PendingAttachment
from textdesk.inboxes.models import PhoneNumber
from textdesk.media.models import StoredMedia
from textdesk.media.tests.images import PNG
from textdesk.messaging.worker import run_once
from textdesk.testing import create_conversation, unique_sid

TWILIO_NUMBER = "+16175550111"


def reply_url(conversation) -> str:
    return f"/inboxes/{conversation.inbox_id}/conversations/{conversation.pk}/reply/"


def test_a_reply_can_carry_a_picture_which_the_provider_gets_by_our_url(world, client, fake_twilio):
    PhoneNumber.objects.filter(inbox=world.shared).update(number=TWILIO_NUMBER, provider="twilio")
    conversation = create_conversation(world.shared)
    client.force_login(world.bob)
    picture = SimpleUploadedFile("campus map.png", PNG, content_type="image/png")
    response = client.post(reply_url(conversation), {"body": "", "media": picture})
    assert response.status_code == 302

    message = Message.objects.get(direction="out")
    stored = StoredMedia.objects.get()
    assert message.body == ""
    assert message.media_urls == [
        f"https://textdesk.example.edu/m/{stored.token}/{stored.filename}"
    ]
    run_once()
    [request] = fake_twilio.sent()
    assert request.fields("MediaUrl") == message.media_urls
    assert request.field("Body") is None
    page = client.get(f"/inboxes/{world.shared.pk}/conversations/{conversation.pk}/").content
    assert f'<img class="media-image" src="{message.media_urls[0]}"'.encode() in page
    served = client.get(f"/m/{stored.token}/{stored.filename}")
    assert served["Content-Type"] == "image/png"


def test_a_file_that_is_not_a_picture_is_refused_and_nothing_is_sent(world, client):
    conversation = create_conversation(world.shared)
    client.force_login(world.bob)
    fake = SimpleUploadedFile("virus.png", b"MZ\x90\x00 not a picture", content_type="image/png")
    response = client.post(reply_url(conversation), {"body": "See attached", "media": fake})
    assert response.status_code == 422
    assert "Only JPEG, PNG and GIF" in response.content.decode()
    assert not Message.objects.filter(direction="out").exists()
    assert not StoredMedia.objects.exists()


def inbound_mms(signed_post, media_url: str):
    sid = unique_sid("MM")
    params = {
        "MessageSid": sid,
        "AccountSid": TWILIO_ACCOUNT_SID,
        "From": "+16175550142",
        "To": TWILIO_NUMBER,
        "Body": "Here's my ID",
        "NumMedia": "1",
        "MediaUrl0": media_url,
        "MediaContentType0": "image/png",
    }
    assert signed_post("/webhooks/twilio/messages", params).status_code == 200
    return Message.objects.get(provider_message_id=sid)


def test_an_inbound_picture_is_fetched_with_basic_auth_and_stored_here(
    world, fake_twilio, signed_post, settings, client
):
    settings.MEDIA_FETCH_ALLOW_PRIVATE_ADDRESSES = True  # the fake Twilio lives on loopback
    PhoneNumber.objects.filter(inbox=world.shared).update(number=TWILIO_NUMBER, provider="twilio")
    media_url = fake_twilio.add_media("MM1", "image/png", PNG)
    message = inbound_mms(signed_post, media_url)
    assert message.media_urls == [media_url]  # at the provider until the worker fetches it

    run_once()

    message.refresh_from_db()
    stored = StoredMedia.objects.get()
    assert stored.source_url == media_url
    assert message.media_urls == [
        f"https://textdesk.example.edu/m/{stored.token}/{stored.filename}"
    ]
    assert not PendingAttachment.objects.exists()
    fetch = next(r for r in fake_twilio.requests if r.method == "GET")
    assert fetch.basic_auth == (TWILIO_ACCOUNT_SID, TWILIO_AUTH_TOKEN)
    client.force_login(world.bob)
    page = client.get(f"/inboxes/{world.shared.pk}/conversations/{message.conversation_id}/")
    assert b'class="media-image"' in page.content


def test_a_picture_on_a_private_address_is_never_fetched(world, fake_twilio, signed_post):
    PhoneNumber.objects.filter(inbox=world.shared).update(number=TWILIO_NUMBER, provider="twilio")
    media_url = fake_twilio.add_media("MM2", "image/png", PNG)  # 127.0.0.1: refused by default
    message = inbound_mms(signed_post, media_url)

    run_once()

    assert not [r for r in fake_twilio.requests if r.method == "GET"]
    assert not StoredMedia.objects.exists()
    assert not PendingAttachment.objects.exists()  # refused for good, not retried
    message.refresh_from_db()
    assert message.media_urls == [media_url]  # only linked, never shown inline
