from django.apps import AppConfig


class AccountsConfig(AppConfig):
    name = "textdesk.accounts"
    label = "accounts"
    verbose_name = "Accounts and teams"
