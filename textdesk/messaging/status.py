"""The life of a message, in one place.

Outbound messages move forward only::

    queued ──> sending ──> sent ──> delivered
       │          │          ├────> undelivered
       └──────────┴──────────┴────> failed

- ``queued``: written to our outbox, waiting for a worker (retries wait here too).
- ``sending``: handed to the provider, which accepted it but has not yet passed it to a carrier.
- ``sent``: the provider passed it to the carrier.
- ``delivered``: the carrier confirmed delivery to the handset.
- ``undelivered``: the carrier could not deliver it (handset off for too long, blocked, ...).
- ``failed``: it never left: refused by us or the provider (invalid number, opted out, ...).

Inbound messages are ``received`` and never change.

Status callbacks arrive out of order and more than once, so a status may only replace one of a
lower rank: a late ``sent`` never overwrites ``delivered``, and a repeated ``delivered`` changes
nothing. The three final statuses share the top rank, so none of them replaces another.
"""

from django.db import models


class MessageStatus(models.TextChoices):
    QUEUED = "queued", "Queued"
    SENDING = "sending", "Sending"
    SENT = "sent", "Sent"
    DELIVERED = "delivered", "Delivered"
    UNDELIVERED = "undelivered", "Undelivered"
    FAILED = "failed", "Failed"
    RECEIVED = "received", "Received"


_RANK = {
    MessageStatus.QUEUED: 0,
    MessageStatus.SENDING: 1,
    MessageStatus.SENT: 2,
    MessageStatus.DELIVERED: 3,
    MessageStatus.UNDELIVERED: 3,
    MessageStatus.FAILED: 3,
}

FINAL_STATUSES = frozenset(s for s, rank in _RANK.items() if rank == 3)


def can_follow(current: str, new: str) -> bool:
    """Whether an outbound message in status ``current`` may move to ``new``: the rule."""
    if current not in _RANK or new not in _RANK:
        return False
    return _RANK[new] > _RANK[current]


def statuses_replaceable_by(new: str) -> frozenset[str]:
    """The statuses a message may be in for ``new`` to replace it. UPDATEs filter on these,
    so the rule is enforced on the row as it is when written, not on a value read earlier."""
    return frozenset(current for current in _RANK if can_follow(current, new))
