"""Estimate arithmetic, and windows across daylight-saving changes."""

from datetime import UTC, date, datetime, time, timedelta
from zoneinfo import ZoneInfo

import pytest

from textdesk.campaigns.estimates import Group, simulate
from textdesk.messaging.windows import closes_at, local_moment, next_opening

NOW = datetime(2027, 1, 12, 15, 0, tzinfo=UTC)  # 10:00 in New York
NEW_YORK = ZoneInfo("America/New_York")


def group(cost: float, *, ready: datetime = NOW, closes: datetime | None = None, n: int = 0):
    return Group(ready_at=ready, closes_at=closes, cost=cost, recipients=n or int(cost))


def seconds(estimate) -> float:
    return estimate.duration.total_seconds()


def test_cost_over_rate():
    assert seconds(simulate(start_at=NOW, rate=10, groups=[group(1000)])) == pytest.approx(100)


def test_two_segment_texts_take_twice_as_long():
    one = simulate(start_at=NOW, rate=3, groups=[group(300)])
    two = simulate(start_at=NOW, rate=3, groups=[group(600, n=300)])
    assert seconds(two) == pytest.approx(2 * seconds(one))


def test_a_send_ahead_on_the_number_shares_the_rate_until_it_is_done():
    # 400 of ours, 100 left of another send: 200 s at half rate (100 each), then 300 alone.
    estimate = simulate(start_at=NOW, rate=1, groups=[group(400)], competitors=[100])
    assert seconds(estimate) == pytest.approx(200 + 300)


def test_a_bigger_send_ahead_halves_our_rate_all_along():
    estimate = simulate(start_at=NOW, rate=2, groups=[group(100)], competitors=[10_000])
    assert seconds(estimate) == pytest.approx(100)  # 1 a second for 100


def test_recipients_outside_their_window_wait_for_it_to_open():
    morning = NOW + timedelta(hours=8)
    estimate = simulate(start_at=NOW, rate=1, groups=[group(60), group(60, ready=morning)])
    assert estimate.finishes_at == morning + timedelta(seconds=60)
    assert estimate.waiting_for_window == 60


def test_texts_still_waiting_when_the_window_closes_go_the_next_day():
    closing = NOW + timedelta(seconds=100)
    estimate = simulate(start_at=NOW, rate=1, groups=[group(150, closes=closing)])
    assert estimate.runs_into_quiet_hours
    # 100 before closing; the other 50 when it reopens a day later.
    assert estimate.finishes_at == NOW + timedelta(days=1, seconds=50)


def test_an_empty_audience_finishes_at_once():
    estimate = simulate(start_at=NOW, rate=1, groups=[])
    assert estimate.finishes_at == NOW
    assert estimate.recipients == 0


def test_windows_open_and_close_in_local_time():
    late = datetime(2027, 1, 13, 3, 0, tzinfo=UTC)  # 22:00 in New York
    assert next_opening(late, NEW_YORK, time(8), time(21)) == datetime(
        2027, 1, 13, 13, 0, tzinfo=UTC
    )
    early = datetime(2027, 1, 13, 11, 0, tzinfo=UTC)  # 6:00
    assert next_opening(early, NEW_YORK, time(8), time(21)) == datetime(
        2027, 1, 13, 13, 0, tzinfo=UTC
    )
    assert next_opening(NOW, NEW_YORK, time(8), time(21)) == NOW
    assert closes_at(NOW, NEW_YORK, time(21)) == datetime(2027, 1, 13, 2, 0, tzinfo=UTC)


def test_a_window_opening_across_the_spring_daylight_saving_change():
    """Saturday night before the change, the window opens at 8:00 EDT (12:00 UTC) on Sunday."""
    saturday_night = datetime(2027, 3, 14, 3, 0, tzinfo=UTC)  # 22:00 EST on Mar 13
    opening = next_opening(saturday_night, NEW_YORK, time(8), time(21))
    assert opening == datetime(2027, 3, 14, 12, 0, tzinfo=UTC)
    assert opening.astimezone(NEW_YORK).hour == 8


def test_a_window_opening_across_the_autumn_daylight_saving_change():
    saturday_night = datetime(2027, 11, 7, 2, 0, tzinfo=UTC)  # 22:00 EDT on Nov 6
    opening = next_opening(saturday_night, NEW_YORK, time(8), time(21))
    assert opening == datetime(2027, 11, 7, 13, 0, tzinfo=UTC)  # 8:00 EST


def test_a_local_time_skipped_by_the_spring_change_means_the_moment_after():
    moment = local_moment(date(2027, 3, 14), time(2, 30), NEW_YORK)
    assert moment == datetime(2027, 3, 14, 7, 30, tzinfo=UTC)  # 3:30 EDT
    assert moment.astimezone(NEW_YORK).hour == 3
