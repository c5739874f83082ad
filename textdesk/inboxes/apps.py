from django.apps import AppConfig


class InboxesConfig(AppConfig):
    name = "textdesk.inboxes"
    label = "inboxes"
    verbose_name = "Inboxes and phone numbers"
