from django.contrib import admin
from django.urls import include, path

from textdesk.core.views import healthz

urlpatterns = [
    path("", include("textdesk.conversations.urls")),
    path("", include("textdesk.accounts.urls")),
    path("", include("textdesk.inboxes.urls")),
    path("", include("textdesk.contacts.urls")),
    path("", include("textdesk.campaigns.urls")),
    path("", include("textdesk.campaigns.compose_urls")),
    path("", include("textdesk.campaigns.report_urls")),
    path("", include("textdesk.compliance.urls")),
    path("", include("textdesk.compliance.audit_urls")),
    path("", include("textdesk.compliance.stewardship_urls")),
    path("", include("textdesk.events.urls")),
    path("simulator/", include("textdesk.providers.simulator.urls")),
    path("m/", include("textdesk.media.urls")),
    path("webhooks/twilio/", include("textdesk.providers.twilio.urls")),
    path("admin/", admin.site.urls),
    path("healthz", healthz, name="healthz"),
]
