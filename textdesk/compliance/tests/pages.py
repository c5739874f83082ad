"""The compliance pages of a team, and the methods each answers, for the access-control walk
in contacts/tests/test_access_control.py (one dict per area, so that each grows on its own)."""

# Team settings: keyword answers, notification addresses (team admins).
SETTINGS_PAGES: dict[str, set[str]] = {
    "team_compliance": {"get", "post"},
    "contact_consent": {"post"},
}
# The audit trail and the opt-out history, with their CSV exports (team admins).
AUDIT_PAGES: dict[str, set[str]] = {
    "audit": {"get"},
    "audit_csv": {"get"},
    "opt_out_history": {"get"},
    "opt_out_history_csv": {"get"},
}
# One contact's data: export and erase.
STEWARDSHIP_PAGES: dict[str, set[str]] = {
    "contact_export_json": {"get"},
    "contact_export_csv": {"get"},
    "contact_erase": {"get", "post"},
}

COMPLIANCE_TEAM_PAGES = {**SETTINGS_PAGES, **AUDIT_PAGES, **STEWARDSHIP_PAGES}
# Pages only a team admin may open: a member of the team gets 403.
ADMIN_ONLY: set[str] = {
    "team_compliance",
    "audit",
    "audit_csv",
    "opt_out_history",
    "opt_out_history_csv",
    "contact_erase",
}
