from django.contrib import admin
from django.urls import include, path

from textdesk.core.views import healthz

urlpatterns = [
    path("", include("textdesk.conversations.urls")),
    path("", include("textdesk.accounts.urls")),
    path("", include("textdesk.inboxes.urls")),
    path("simulator/", include("textdesk.providers.simulator.urls")),
    path("webhooks/twilio/", include("textdesk.providers.twilio.urls")),
    path("admin/", admin.site.urls),
    path("healthz", healthz, name="healthz"),
]
