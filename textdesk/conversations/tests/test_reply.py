from textdesk.conversations.models import MAX_BODY_LENGTH, Message
from textdesk.testing import create_conversation


def reply_url(conversation) -> str:
    return f"/inboxes/{conversation.inbox_id}/conversations/{conversation.pk}/reply/"


def test_a_reply_is_queued_and_the_conversation_no_longer_awaits_one(world, client):
    conversation = create_conversation(world.shared)
    assert conversation.needs_reply
    client.force_login(world.bob)

    response = client.post(reply_url(conversation), {"body": "Yes, it's complete."})

    assert response.status_code == 302
    message = Message.objects.get(direction="out")
    assert (message.body, message.status, message.sent_by) == (
        "Yes, it's complete.",
        "queued",
        world.bob,
    )
    assert (message.encoding, message.segments) == ("GSM-7", 1)
    assert message.our_number == world.shared.phone_numbers.get().number
    conversation.refresh_from_db()
    assert not conversation.needs_reply
    assert conversation.preview == "Yes, it's complete."


def test_a_reply_by_htmx_returns_the_thread_and_a_fresh_form(world, client):
    conversation = create_conversation(world.shared)
    client.force_login(world.bob)
    response = client.post(
        reply_url(conversation), {"body": "On its way 🚀"}, headers={"HX-Request": "true"}
    )
    assert response.status_code == 200
    html = response.content.decode()
    assert 'id="thread"' in html
    assert "On its way 🚀" in html
    assert 'hx-swap-oob="true"' in html
    message = Message.objects.get(direction="out")
    assert (message.encoding, message.segments) == ("UCS-2", 1)


def test_an_empty_reply_is_refused_and_nothing_is_written(world, client):
    conversation = create_conversation(world.shared)
    client.force_login(world.bob)
    for body in ["", "   \n  "]:
        response = client.post(reply_url(conversation), {"body": body})
        assert response.status_code == 422
        assert "Write a message first." in response.content.decode()
    assert not Message.objects.filter(direction="out").exists()
    conversation.refresh_from_db()
    assert conversation.needs_reply


def test_an_over_long_reply_is_refused_with_the_limit(world, client):
    conversation = create_conversation(world.shared)
    client.force_login(world.bob)
    response = client.post(
        reply_url(conversation),
        {"body": "x" * (MAX_BODY_LENGTH + 1)},
        headers={"HX-Request": "true"},
    )
    assert response.status_code == 422
    assert response["HX-Retarget"] == "#reply-form"
    assert "1600" in response.content.decode()
    assert not Message.objects.filter(direction="out").exists()


def test_a_reply_of_exactly_the_limit_is_accepted(world, client):
    conversation = create_conversation(world.shared)
    client.force_login(world.bob)
    response = client.post(reply_url(conversation), {"body": "x" * MAX_BODY_LENGTH})
    assert response.status_code == 302
    assert Message.objects.get(direction="out").segments == 11  # 1,600 / 153, rounded up


def test_message_text_is_escaped_in_the_page(world, client):
    from textdesk.testing import receive_text

    message = receive_text(world.shared, "<script>alert('hi')</script> & <b>bold</b>")
    client.force_login(world.bob)
    page = client.get(f"/inboxes/{world.shared.pk}/conversations/{message.conversation_id}/")
    html = page.content.decode()
    assert "<script>alert" not in html
    assert (
        "&lt;script&gt;alert(&#x27;hi&#x27;)&lt;/script&gt; &amp; &lt;b&gt;bold&lt;/b&gt;" in html
    )
    listing = client.get(f"/inboxes/{world.shared.pk}/").content.decode()
    assert "<b>bold</b>" not in listing
