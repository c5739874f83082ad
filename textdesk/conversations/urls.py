from django.urls import path

from textdesk.conversations import views

CONVERSATION = "inboxes/<int:inbox_id>/conversations/<int:conversation_id>/"

urlpatterns = [
    path("", views.home, name="home"),
    path("search/", views.search, name="search"),
    path("inboxes/<int:inbox_id>/", views.inbox, name="inbox"),
    path("inboxes/<int:inbox_id>/new/", views.new_conversation, name="new_conversation"),
    path("inboxes/<int:inbox_id>/follow/", views.follow, name="follow"),
    path(CONVERSATION, views.conversation, name="conversation"),
    path(CONVERSATION + "thread/", views.thread, name="thread"),
    path(CONVERSATION + "header/", views.header, name="header"),
    path(CONVERSATION + "reply/", views.reply, name="reply"),
    path(CONVERSATION + "notes/", views.add_note, name="add_note"),
    path(CONVERSATION + "close/", views.close, name="close"),
    path(CONVERSATION + "reopen/", views.reopen, name="reopen"),
    path(CONVERSATION + "no-reply-needed/", views.no_reply_needed, name="no_reply_needed"),
    path(CONVERSATION + "assign/", views.assign, name="assign"),
    path(CONVERSATION + "take-over/", views.take_over, name="take_over"),
    path(CONVERSATION + "leave/", views.leave, name="leave"),
    path(
        CONVERSATION + "messages/<int:message_id>/revocation/",
        views.decide_revocation,
        name="decide_revocation",
    ),
]
