"""How long a send will take, honestly.

A number sends ``segments_per_second``; a text costs its segments (an MMS, the number's
``mms_cost``). Sends on one number take turns, so while others still have texts left, each
gets a fair share of the rate. Recipients outside their sending window wait until it opens, and
texts still waiting when their window closes wait for the next day's. This module simulates
exactly that, as a fluid: the time to send a group of texts is their cost over the share of the
rate they get.
"""

from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import datetime, timedelta

# Windows are daily; a group whose window closes with texts left reopens a day later.
DAY = timedelta(days=1)
MAX_STEPS = 200_000


@dataclass
class Group:
    """Texts that become sendable at the same moment (recipients in one time zone)."""

    ready_at: datetime
    closes_at: datetime | None
    cost: float
    recipients: int = 0
    done_at: datetime | None = None


@dataclass
class Estimate:
    starts_at: datetime
    finishes_at: datetime
    total_cost: float
    recipients: int
    # Recipients whose texts wait for their window to open (in the morning, say).
    waiting_for_window: int = 0
    # Whether some texts were still waiting when their window closed (they go the next day).
    runs_into_quiet_hours: bool = False
    groups: list[Group] = field(default_factory=list)

    @property
    def duration(self) -> timedelta:
        return self.finishes_at - self.starts_at


def simulate(
    *,
    start_at: datetime,
    rate: float,
    groups: Iterable[Group],
    competitors: Iterable[float] = (),
) -> Estimate:
    """When the last of ``groups`` is sent, sharing ``rate`` with ``competitors`` (the
    remaining cost of each other send on the number, all sendable now)."""
    pending = sorted((g for g in groups if g.cost > 0), key=lambda g: g.ready_at)
    everyone = list(pending)
    others = [c for c in competitors if c > 0]
    total = sum(g.cost for g in pending)
    recipients = sum(g.recipients for g in pending)
    waiting = sum(g.recipients for g in pending if g.ready_at > start_at)
    t = start_at
    ready: list[Group] = []
    quiet = False
    for _ in range(MAX_STEPS):
        while pending and pending[0].ready_at <= t:
            ready.append(pending.pop(0))
        if not ready and not pending:
            break
        ours = sum(g.cost for g in ready)
        streams = len(others) + (1 if ours > 0 else 0)
        candidates = []
        if pending:
            candidates.append((pending[0].ready_at - t).total_seconds())
        for group in ready:
            if group.closes_at is not None:
                candidates.append(max((group.closes_at - t).total_seconds(), 0))
        if streams:
            share = rate / streams
            candidates += [c / share for c in others]
            if ours > 0:
                candidates.append(ours / share)
        step = max(min(candidates), 0) if candidates else 0
        if streams:
            spent = share * step
            others = [c - spent for c in others if c - spent > 1e-9]
            if ours > 0:
                for group in ready:
                    group.cost -= spent * group.cost / ours  # texts interleave across zones
        t += timedelta(seconds=step)
        still = []
        for group in ready:
            if group.cost <= 1e-9:
                group.done_at = t
            elif group.closes_at is not None and group.closes_at <= t:
                # The window shut with texts left: they wait for tomorrow's.
                quiet = True
                pending.append(
                    Group(group.ready_at + DAY, group.closes_at + DAY, group.cost, group.recipients)
                )
                pending.sort(key=lambda g: g.ready_at)
                group.cost = 0
            else:
                still.append(group)
        ready = still
    return Estimate(
        starts_at=start_at,
        finishes_at=t,
        total_cost=total,
        recipients=recipients,
        waiting_for_window=waiting,
        runs_into_quiet_hours=quiet,
        groups=everyone,
    )
