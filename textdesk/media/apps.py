from django.apps import AppConfig


class MediaConfig(AppConfig):
    name = "textdesk.media"
    label = "media"
    verbose_name = "Media (MMS images)"
