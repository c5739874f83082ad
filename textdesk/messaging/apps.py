from django.apps import AppConfig


class MessagingConfig(AppConfig):
    name = "textdesk.messaging"
    label = "messaging"
    verbose_name = "Messaging"
