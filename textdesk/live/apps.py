from django.apps import AppConfig


class LiveConfig(AppConfig):
    name = "textdesk.live"
    label = "live"
    verbose_name = "Live updates"
