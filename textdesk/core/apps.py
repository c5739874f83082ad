from django.apps import AppConfig


class CoreConfig(AppConfig):
    name = "textdesk.core"
    label = "core"
    verbose_name = "Textdesk"
