from django.urls import path

from textdesk.providers.twilio import views

app_name = "twilio"
urlpatterns = [
    path("messages", views.inbound_message, name="messages"),
    path("status", views.status_callback, name="status"),
]
