"""A send's report and the header's indicator of sends in progress (included by config/urls)."""

from django.urls import path

from textdesk.campaigns import report_views

SEND = "sends/<int:send_id>/"

urlpatterns = [
    path("sends/airplane/", report_views.airplane, name="airplane"),
    path(SEND, report_views.send_report, name="send_report"),
    path(SEND + "progress/", report_views.send_progress, name="send_progress"),
    path(SEND + "recipients.csv", report_views.send_csv, name="send_csv"),
    path(SEND + "pause/", report_views.send_pause, name="send_pause"),
    path(SEND + "resume/", report_views.send_resume, name="send_resume"),
    path(SEND + "cancel/", report_views.send_cancel, name="send_cancel"),
]
