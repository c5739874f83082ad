"""The event pages of a team."""

from django.urls import path

from textdesk.events import views

TEAM = "teams/<int:team_id>/"
EVENT = TEAM + "events/<int:event_id>/"

urlpatterns = [
    path(TEAM + "events/", views.event_list, name="events"),
    path(TEAM + "events/new/", views.event_form, name="event_new"),
    path(EVENT, views.event_page, name="event"),
    path(EVENT + "edit/", views.event_form, name="event_edit"),
    path(EVENT + "tallies/", views.event_tallies, name="event_tallies"),
    path(EVENT + "export.csv", views.event_csv, name="event_csv"),
    path(EVENT + "follow-up/", views.event_follow_up, name="event_follow_up"),
    path(
        EVENT + "invitations/<int:invitation_id>/",
        views.invitation_set,
        name="invitation_set",
    ),
]
