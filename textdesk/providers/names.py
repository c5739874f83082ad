from django.db import models


class ProviderName(models.TextChoices):
    """The SMS providers Textdesk can send through; each has a folder under providers/."""

    SIMULATOR = "simulator", "Built-in simulator"
    TWILIO = "twilio", "Twilio"
