from django.apps import AppConfig


class ComplianceConfig(AppConfig):
    name = "textdesk.compliance"
    label = "compliance"
    verbose_name = "Compliance and audit"
