import zoneinfo
from collections.abc import Callable

from django.http import HttpRequest, HttpResponse
from django.utils import timezone

from textdesk.accounts.models import Team

SESSION_KEY = "textdesk_time_zone"


class TeamTimezoneMiddleware:
    """Show times in the signed-in user's team time zone (remembered for the session).

    Pages about one inbox switch to that inbox's team zone; this is the zone for the rest."""

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        if request.user.is_authenticated:
            name = request.session.get(SESSION_KEY)
            if name is None:
                team = Team.objects.filter(memberships__user=request.user).order_by("name").first()
                name = team.time_zone if team else ""
                if name:  # a user with no team yet is asked again once they have one
                    request.session[SESSION_KEY] = name
            if name:
                timezone.activate(zoneinfo.ZoneInfo(name))
        try:
            return self.get_response(request)
        finally:
            timezone.deactivate()
