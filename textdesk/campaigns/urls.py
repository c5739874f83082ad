from django.urls import path

from textdesk.campaigns import views

TEAM = "teams/<int:team_id>/"

urlpatterns = [
    path(TEAM + "templates/", views.template_list, name="templates"),
    path(TEAM + "templates/new/", views.template_edit, name="template_new"),
    path(TEAM + "templates/preview/", views.template_preview, name="template_preview"),
    path(TEAM + "templates/<int:template_id>/", views.template_edit, name="template_edit"),
    path("sms/meter/", views.meter, name="sms_meter"),
    path(
        "inboxes/<int:inbox_id>/conversations/<int:conversation_id>/templates/<int:template_id>/",
        views.template_for_conversation,
        name="template_for_conversation",
    ),
]
