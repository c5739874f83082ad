"""The audit trail and the opt-out history (team admins)."""

from django.urls import path

from textdesk.compliance import audit_views

TEAM = "teams/<int:team_id>/"

urlpatterns = [
    path(TEAM + "audit/", audit_views.audit, name="audit"),
    path(TEAM + "audit.csv", audit_views.audit_csv, name="audit_csv"),
    path(TEAM + "opt-outs/", audit_views.opt_out_history, name="opt_out_history"),
    path(TEAM + "opt-outs.csv", audit_views.opt_out_history_csv, name="opt_out_history_csv"),
]
