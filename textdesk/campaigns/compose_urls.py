from django.urls import path

from textdesk.campaigns import compose_views

urlpatterns = [
    path("compose/", compose_views.compose, name="compose"),
    path("sends/scheduled/", compose_views.schedule, name="schedule"),
    path("sends/<int:send_id>/edit/", compose_views.edit_scheduled, name="edit_scheduled"),
]
