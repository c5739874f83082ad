"""Every page walked as someone who may not see it: 404, never a hint that it exists."""

import pytest
from django.urls import URLPattern, URLResolver, get_resolver

from textdesk.campaigns.models import MessageTemplate
from textdesk.conversations.models import Message
from textdesk.testing import create_conversation

# Pages that need no inbox: reachable by any signed-in user (or anyone, for sign-in/health;
# media files are public by an unguessable token, as the SMS provider must fetch them).
PUBLIC = {"login", "logout", "healthz", "media_file"}
SIGNED_IN = {
    "home",
    "switcher",
    "search",
    "contacts_home",
    "sms_meter",
    "simulator:phone",
    "simulator:send",
    "compose",  # offers only the user's inboxes; create_send checks access again
    "schedule",  # lists only sends of the user's inboxes
    "airplane",  # likewise
}
# Webhooks authenticate the caller by signature, tested in providers/twilio/tests.
WEBHOOKS = {"twilio:messages", "twilio:status"}


def named_patterns(resolver=None, namespace="") -> dict[str, str]:
    """Every named URL in the project, as {name: route}."""
    found = {}
    for entry in (resolver or get_resolver()).url_patterns:
        if isinstance(entry, URLResolver):
            if entry.app_name == "admin":
                continue  # Django's admin checks is_staff itself
            inner = f"{namespace}{entry.namespace}:" if entry.namespace else namespace
            for name, route in named_patterns(entry, inner).items():
                found[name] = str(entry.pattern) + route
        elif isinstance(entry, URLPattern) and entry.name:
            found[namespace + entry.name] = str(entry.pattern)
    return found


def inbox_urls(inbox, conversation) -> dict[str, str]:
    """Each inbox page of the project, filled in for ``inbox`` and ``conversation``."""
    template = MessageTemplate.objects.create(team=inbox.team, name=f"T{inbox.pk}", body="Hi!")
    urls = {}
    for name, route in named_patterns().items():
        if "<int:inbox_id>" not in route:
            continue
        route = route.replace("<int:inbox_id>", str(inbox.pk))
        route = route.replace("<int:conversation_id>", str(conversation.pk))
        route = route.replace("<int:template_id>", str(template.pk))
        newest = conversation.messages.order_by("-pk").values_list("pk", flat=True).first()
        route = route.replace("<int:message_id>", str(newest or 0))
        assert "<" not in route, f"{name}: teach this test about {route}"
        urls[name] = "/" + route
    return urls


def test_every_url_is_classified_so_that_new_pages_are_walked_too(world):
    from textdesk.contacts.tests.test_access_control import TEAM_METHODS

    conversation = create_conversation(world.shared)
    assert set(inbox_urls(world.shared, conversation)) == set(METHODS)
    team_pages = {name for name, route in named_patterns().items() if "<int:team_id>" in route}
    assert team_pages == set(TEAM_METHODS)
    send_pages = {name for name, route in named_patterns().items() if "<int:send_id>" in route}
    assert send_pages == set(SEND_METHODS)
    everything = set(named_patterns())
    known = PUBLIC | SIGNED_IN | WEBHOOKS | set(METHODS) | set(TEAM_METHODS) | set(SEND_METHODS)
    assert everything == known


# The pages of one send (in an inbox), and the methods each answers.
SEND_METHODS = {
    "send_report": {"get"},
    "send_progress": {"get"},
    "send_csv": {"get"},
    "send_pause": {"post"},
    "send_resume": {"post"},
    "send_cancel": {"post"},
    "edit_scheduled": {"get", "post"},
}


@pytest.mark.parametrize("method", ["get", "post"])
def test_outsiders_get_404_on_every_page_of_someone_else_s_send(world, client, method):
    from textdesk.campaigns import actions
    from textdesk.contacts.models import Segment
    from textdesk.testing import create_contact

    segment = Segment.objects.create(team=world.admissions, name="Admits", kind="static")
    segment.members.add(create_contact(world.admissions))
    send = actions.create_send(
        world.alice,
        inbox=world.shared,
        phone_number=world.shared.phone_numbers.get(),
        segments=[segment],
        body="Open day!",
        scheduled_at=None,
    )
    client.force_login(world.charlie)
    for name, route in named_patterns().items():
        if name not in SEND_METHODS:
            continue
        url = "/" + route.replace("<int:send_id>", str(send.pk))
        response = getattr(client, method)(url, {"scheduled_at": "2030-01-01T10:00", "cancel": "1"})
        expected = 404 if method in SEND_METHODS[name] else 405
        assert response.status_code == expected, f"{method} {name}: {response.status_code}"
    send.refresh_from_db()
    assert send.status == "sending"
    assert send.name not in client.get("/sends/airplane/").content.decode()
    assert send.name not in client.get("/sends/scheduled/").content.decode()
    client.force_login(world.bob)  # on the inbox: sees it in the header
    assert send.name in client.get("/sends/airplane/").content.decode()


# The methods each inbox page answers; any other method is 405 for everyone.
METHODS = {
    "inbox": {"get"},
    "new_conversation": {"get", "post"},
    "follow": {"post"},
    "conversation": {"get"},
    "thread": {"get"},
    "header": {"get"},
    "reply": {"post"},
    "add_note": {"post"},
    "close": {"post"},
    "reopen": {"post"},
    "no_reply_needed": {"post"},
    "assign": {"post"},
    "take_over": {"post"},
    "leave": {"post"},
    "template_for_conversation": {"get"},
    "decide_revocation": {"post"},
    "inbox_settings": {"get", "post"},
}
# What Bob (on the inbox, not an admin) gets for a plain form POST to each page.
INSIDER_POST = {"take_over": 403, "leave": 204, "inbox_settings": 403}
# ... and for a GET: the settings are the team admins'.
INSIDER_GET = {"inbox_settings": 403}


def expected_for_outsider(name: str, method: str) -> int:
    return 404 if method in METHODS[name] else 405


@pytest.mark.parametrize("method", ["get", "post"])
@pytest.mark.parametrize(
    ("outsider", "inbox"),
    [("charlie", "shared"), ("bob", "alice_personal")],
    ids=["charlie in the Admissions inbox", "bob in Alice's personal inbox"],
)
def test_outsiders_get_404_on_every_page_of_an_inbox(world, client, method, outsider, inbox):
    inbox = getattr(world, inbox)
    conversation = create_conversation(inbox)
    client.force_login(getattr(world, outsider))
    for name, url in inbox_urls(inbox, conversation).items():
        response = getattr(client, method)(url, {"body": "Hi", "number": "+16175550177"})
        expected = expected_for_outsider(name, method)
        assert response.status_code == expected, f"{method} {name} {url}: {response.status_code}"
    assert Message.objects.filter(direction="out").count() == 0


def test_an_inbox_or_conversation_that_does_not_exist_is_404(world, client):
    conversation = create_conversation(world.shared)
    client.force_login(world.alice)
    response = client.get("/inboxes/999999/")
    assert response.status_code == 404
    assert "an inbox you do not have access to" in response.content.decode()
    assert client.get(f"/inboxes/{world.shared.pk}/conversations/999999/").status_code == 404
    assert (
        client.post(
            f"/inboxes/{world.shared.pk}/conversations/{conversation.pk + 1000}/reply/",
            {"body": "Hi"},
        ).status_code
        == 404
    )


def test_a_conversation_is_not_reachable_through_another_inbox_url(world, client):
    """Bob may open the shared inbox, but not Charlie's conversation under its URL."""
    charlies_conversation = create_conversation(world.charlie_inbox)
    client.force_login(world.bob)
    for name, url in inbox_urls(world.shared, charlies_conversation).items():
        if "conversation_id" in named_patterns()[name]:
            for method in ("get", "post"):
                response = getattr(client, method)(url, {"body": "Hi"})
                assert response.status_code == expected_for_outsider(name, method), name
    assert Message.objects.filter(direction="out").count() == 0


def test_a_user_removed_from_the_team_loses_access(world, client):
    conversation = create_conversation(world.shared)
    world.bob.memberships.all().delete()
    client.force_login(world.bob)
    assert (
        client.get(f"/inboxes/{world.shared.pk}/conversations/{conversation.pk}/").status_code
        == 404
    )


def test_team_admins_see_shared_inboxes_without_being_on_the_list(world, client):
    world.shared.access.filter(user=world.alice).delete()
    client.force_login(world.alice)
    assert client.get(f"/inboxes/{world.shared.pk}/").status_code == 200


def test_people_who_may_see_an_inbox_get_every_page(world, client):
    conversation = create_conversation(world.shared)
    client.force_login(world.bob)
    for name, url in inbox_urls(world.shared, conversation).items():
        if "get" in METHODS[name]:
            assert client.get(url).status_code == INSIDER_GET.get(name, 200), name
        if "post" in METHODS[name]:
            response = client.post(url, {"body": "Hi", "number": "+16175550177", "tab": "t"})
            assert response.status_code == INSIDER_POST.get(name, 302), name


def test_signed_out_visitors_are_sent_to_sign_in(world, client):
    conversation = create_conversation(world.shared)
    urls = [*inbox_urls(world.shared, conversation).values(), "/", "/simulator/"]
    for url in urls:
        response = client.get(url)
        if response.status_code != 405:
            assert response.status_code == 302, url
            assert response["Location"].startswith("/login/?next="), url
    assert client.post("/simulator/send/", {"body": "x"}).status_code == 302


def test_the_inbox_switcher_lists_only_accessible_inboxes(world, client):
    client.force_login(world.bob)
    html = client.get(f"/inboxes/{world.shared.pk}/").content.decode()
    assert "Admissions" in html
    assert "Alice&#x27;s line" not in html
    assert "Financial Aid" not in html
