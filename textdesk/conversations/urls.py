from django.urls import path

from textdesk.conversations import views

urlpatterns = [
    path("", views.home, name="home"),
    path("inboxes/<int:inbox_id>/", views.inbox, name="inbox"),
    path("inboxes/<int:inbox_id>/new/", views.new_conversation, name="new_conversation"),
    path(
        "inboxes/<int:inbox_id>/conversations/<int:conversation_id>/",
        views.conversation,
        name="conversation",
    ),
    path(
        "inboxes/<int:inbox_id>/conversations/<int:conversation_id>/thread/",
        views.thread,
        name="thread",
    ),
    path(
        "inboxes/<int:inbox_id>/conversations/<int:conversation_id>/reply/",
        views.reply,
        name="reply",
    ),
]
