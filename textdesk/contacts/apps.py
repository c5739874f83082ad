from django.apps import AppConfig


class ContactsConfig(AppConfig):
    name = "textdesk.contacts"
    label = "contacts"
    verbose_name = "Contacts"
