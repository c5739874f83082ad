from django.apps import AppConfig


class SimulatorConfig(AppConfig):
    name = "textdesk.providers.simulator"
    label = "simulator"
    verbose_name = "Carrier simulator"
