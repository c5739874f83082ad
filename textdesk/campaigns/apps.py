from django.apps import AppConfig


class CampaignsConfig(AppConfig):
    name = "textdesk.campaigns"
    label = "campaigns"
    verbose_name = "Compose and templates"
