import os

from celery import Celery

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings")

app = Celery("attribution")
app.config_from_object("django.conf:settings", namespace="CELERY")
app.autodiscover_tasks()

# Connects the signals that give task log lines their task id and the enqueuer's request id, and
# those that count each task's successes, failures and retries for /metrics.
from config import log_context, task_metrics  # noqa: E402, F401
