"""Fixtures of the notification tests: channels of org A, and a clock that sleeps in no time."""

import pytest

from apps.notifications.models import Channel, Kind
from apps.notifications.services import channel_save

WEBHOOK_URL = "https://hooks.slack.com/services/T000/B000/XXXXsecretXXXX"
BOT_TOKEN = "xoxb-1111-2222-secrettoken"
POST_MESSAGE = "https://slack.com/api/chat.postMessage"


class FakeTime:
    """An injected sleep and clock: waits are recorded and advance the clock, none is slept."""

    def __init__(self):
        self.now = 1000.0
        self.sleeps: list[float] = []

    def sleep(self, seconds: float) -> None:
        self.sleeps.append(seconds)
        self.now += seconds

    def clock(self) -> float:
        return self.now

    @property
    def options(self) -> dict:
        return {"sleep": self.sleep, "clock": self.clock, "jitter": lambda: 0.5}


@pytest.fixture
def fake_time():
    return FakeTime()


def make_channel(org, *, kinds, type=Channel.Type.SLACK_WEBHOOK, name="Sales", **fields):
    secret = {Channel.Type.SLACK_WEBHOOK: WEBHOOK_URL, Channel.Type.SLACK_BOT: BOT_TOKEN}.get(type)
    channel = Channel(org=org, name=name, type=type, kinds=[str(k) for k in kinds], **fields)
    return channel_save(channel=channel, secret=secret, actor=None)


@pytest.fixture
def webhook_channel(team_a):
    return make_channel(team_a.org, kinds=[Kind.DAILY_REPORT, Kind.TEST, Kind.SYNC_FAILED])


@pytest.fixture
def bot_channel(team_a):
    return make_channel(
        team_a.org,
        kinds=[Kind.PCF_OVERDUE],
        type=Channel.Type.SLACK_BOT,
        name="Bot",
        slack_channel="C0SALES",
    )
