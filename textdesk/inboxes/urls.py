from django.urls import path

from textdesk.inboxes import views

urlpatterns = [
    path("switcher/", views.switcher, name="switcher"),
    path("inboxes/<int:inbox_id>/settings/", views.inbox_settings, name="inbox_settings"),
]
