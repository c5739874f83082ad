"""Forged webhooks are refused with 403 and store nothing, whatever they contain."""

import pytest

from conftest import PUBLIC_URL, twilio_signature
from textdesk.conversations.models import Message
from textdesk.inboxes.models import PhoneNumber
from textdesk.providers.twilio.tests.test_inbound_webhook import PATH, TWILIO_NUMBER, inbound

STATUS_PATH = "/webhooks/twilio/status"


@pytest.fixture(autouse=True)
def twilio_world(world):
    PhoneNumber.objects.filter(inbox=world.shared).update(number=TWILIO_NUMBER, provider="twilio")
    return world


def assert_refused(response) -> None:
    assert response.status_code == 403
    assert not Message.objects.exists()


def test_a_correctly_signed_request_is_accepted(signed_post):
    assert signed_post(PATH, inbound()).status_code == 200
    assert Message.objects.count() == 1


def test_a_request_without_a_signature_is_refused(signed_post):
    assert_refused(signed_post(PATH, inbound(), signature=""))


def test_a_request_with_a_wrong_signature_is_refused(signed_post):
    assert_refused(signed_post(PATH, inbound(), signature="bm90IGEgc2lnbmF0dXJl"))


def test_a_request_signed_with_another_token_is_refused(signed_post):
    params = inbound()
    forged = twilio_signature(PUBLIC_URL + PATH, params, token="f" * 32)
    assert_refused(signed_post(PATH, params, signature=forged))


def test_a_request_signed_for_another_url_is_refused(signed_post):
    assert_refused(signed_post(PATH, inbound(), sign_url="https://attacker.example.com" + PATH))


def test_a_request_signed_for_the_other_webhook_is_refused(signed_post):
    assert_refused(signed_post(PATH, inbound(), sign_url=PUBLIC_URL + STATUS_PATH))


def test_a_request_with_an_altered_parameter_is_refused(client):
    params = inbound()
    signature = twilio_signature(PUBLIC_URL + PATH, params)
    params["Body"] = "Send me everyone's grades"
    assert_refused(client.post(PATH, params, headers={"X-Twilio-Signature": signature}))


def test_a_request_with_an_added_parameter_is_refused(client):
    params = inbound()
    signature = twilio_signature(PUBLIC_URL + PATH, params)
    params["MediaUrl0"] = "https://attacker.example.com/x.png"
    assert_refused(client.post(PATH, params, headers={"X-Twilio-Signature": signature}))


def test_the_signature_is_checked_against_the_public_url_not_the_host_header(signed_post, client):
    """Behind a proxy, Django sees http://127.0.0.1:8000; Twilio signed the public https URL."""
    params = inbound()
    signature = twilio_signature(PUBLIC_URL + PATH, params)
    response = client.post(
        PATH, params, headers={"X-Twilio-Signature": signature}, HTTP_HOST="127.0.0.1"
    )
    assert response.status_code == 200
    # The same request signed for the address Django sees is not what Twilio would send.
    params = inbound()
    local_signature = twilio_signature("http://127.0.0.1" + PATH, params)
    response = client.post(
        PATH, params, headers={"X-Twilio-Signature": local_signature}, HTTP_HOST="127.0.0.1"
    )
    assert response.status_code == 403
    assert Message.objects.count() == 1


def test_without_an_auth_token_every_request_is_refused(signed_post, settings):
    params = inbound()
    settings.TWILIO_AUTH_TOKEN = ""
    assert_refused(signed_post(PATH, params))
