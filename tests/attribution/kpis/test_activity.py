"""Setter activity rules: what a dial is, when it connected, and the ratios over them."""

from decimal import Decimal

from attribution.kpis.activity import ActivityCounts, format_duration, is_connected, is_dial


def test_a_dial_is_an_outbound_call_or_one_without_a_direction():
    assert is_dial("outbound") and is_dial("") and is_dial(None)
    assert not is_dial("inbound") and not is_dial("Incoming")


def test_only_an_answered_call_connected_whatever_its_length():
    assert is_connected("answered", 0)
    for disposition in ("no-answer", "vm-answer", "vm-left", "busy", "blocked", "error",
                        "abandoned"):  # fmt: skip
        assert not is_connected(disposition, 120), disposition


def test_a_call_logged_without_a_disposition_connected_when_it_lasted():
    assert is_connected(None, 1) and is_connected("", 90)
    assert not is_connected("", 0)


def test_ratios_given_counts():
    counts = ActivityCounts(dials=7, connected=4, talk_seconds=990, bookings=2)
    assert counts.connect_rate == Decimal(4) / Decimal(7)
    assert counts.avg_call_seconds == Decimal("247.5")
    assert counts.bookings_per_100_dials.quantize(Decimal("0.001")) == Decimal("28.571")
    assert counts.display() == {
        "dials": "7",
        "connected": "4",
        "connect_rate": "57.1%",
        "talk_time": "16:30",
        "avg_call": "4:08",  # 247.5 s rounds half up
        "bookings": "2",
        "bookings_per_100_dials": "28.6",
    }


def test_no_dials_means_no_ratio_not_zero():
    quiet = ActivityCounts(bookings=1)
    assert quiet.connect_rate is None and quiet.avg_call_seconds is None
    assert quiet.bookings_per_100_dials is None
    assert quiet.display()["avg_call"] == "—"


def test_counts_add_up():
    total = ActivityCounts(1, 1, 60, 0) + ActivityCounts(2, 0, 0, 1)
    assert total == ActivityCounts(dials=3, connected=1, talk_seconds=60, bookings=1)


def test_durations_read_as_clock_time():
    assert format_duration(0) == "0:00"
    assert format_duration(59) == "0:59"
    assert format_duration(3725) == "1:02:05"
    assert format_duration(None) == "—"
