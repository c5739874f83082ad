"""The event pages of a team, and the methods each answers, for the access-control walk in
contacts/tests/test_access_control.py."""

EVENT_PAGES: dict[str, set[str]] = {
    "events": {"get"},
    "event_new": {"get", "post"},
    "event": {"get"},
    "event_edit": {"get", "post"},
    "event_tallies": {"get"},
    "event_csv": {"get"},
    "event_follow_up": {"post"},
    "invitation_set": {"post"},
}
# Event pages only a team admin may open (a member gets 403).
EVENT_ADMIN_ONLY: set[str] = set()
