from django.apps import AppConfig


class ConversationsConfig(AppConfig):
    name = "textdesk.conversations"
    label = "conversations"
    verbose_name = "Conversations and messages"
