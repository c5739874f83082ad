from datetime import datetime
from zoneinfo import ZoneInfo

from textdesk.accounts.models import Membership
from textdesk.conversations.models import Conversation
from textdesk.testing import create_conversation


def test_times_show_in_the_inbox_teams_zone_whatever_the_viewers_first_team(world, client):
    """Charlie is in Admissions (Los Angeles, first by name) and Financial Aid (New York)."""
    world.admissions.time_zone = "America/Los_Angeles"
    world.admissions.save()
    world.financial_aid.time_zone = "America/New_York"
    world.financial_aid.save()
    Membership.objects.create(team=world.admissions, user=world.charlie)
    conversation = create_conversation(world.charlie_inbox)
    moment = datetime(2026, 12, 4, 17, 30, tzinfo=ZoneInfo("UTC"))
    conversation.messages.update(created_at=moment)
    Conversation.objects.filter(pk=conversation.pk).update(last_message_at=moment)

    client.force_login(world.charlie)
    client.get("/simulator/")  # the session remembers Admissions' zone for other pages
    inbox = world.charlie_inbox.pk
    thread = client.get(f"/inboxes/{inbox}/conversations/{conversation.pk}/").content.decode()
    listing = client.get(f"/inboxes/{inbox}/").content.decode()

    assert "Dec 4, 12:30 p.m." in thread  # 17:30 UTC in New York
    assert "Dec 4, 12:30 p.m." in listing
    assert "9:30 a.m." not in thread + listing  # not Los Angeles
