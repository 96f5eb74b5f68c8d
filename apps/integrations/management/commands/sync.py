from datetime import UTC, datetime, time

from django.core.management.base import BaseCommand, CommandError
from django.utils.dateparse import parse_date, parse_datetime

from apps.integrations.models import SyncRun
from apps.integrations.providers import PROVIDERS
from apps.integrations.sync import SyncError, connected_integrations, sync_run
from apps.orgs.models import Organization

BAR_WIDTH = 24


class Command(BaseCommand):
    help = (
        "Pulls an org's records from its providers now (the nightly sync, by hand). Without "
        "providers, every connected one. Resumes an interrupted run from its cursor."
    )

    def add_arguments(self, parser):
        parser.add_argument("org_slug")
        parser.add_argument("providers", nargs="*", metavar="PROVIDER")
        parser.add_argument("--full", action="store_true", help="a full backfill of the history")
        parser.add_argument(
            "--since", help="re-read from this date or ISO datetime (UTC) instead of the cursor"
        )

    def handle(self, org_slug, providers, full, since, **options):
        org = Organization.objects.filter(slug=org_slug).first()
        if org is None:
            raise CommandError(f"No organisation with the slug {org_slug!r}.")
        unknown = [p for p in providers if p not in PROVIDERS]
        if unknown:
            raise CommandError(
                f"Unknown provider(s) {', '.join(unknown)}; one of {', '.join(PROVIDERS)}."
            )
        since_at = _since(since) if since else None
        if not providers:
            providers = [p for _, p in connected_integrations(org=org)]
            if not providers:
                raise CommandError(f"{org.slug} has no connected provider to sync.")
        failed = []
        for provider in providers:
            progress = _Progress(provider, self.stderr)
            try:
                run = sync_run(
                    org=org, provider=provider, full=full, since=since_at, on_progress=progress
                )
            except SyncError as exc:
                progress.done()
                self.stdout.write(f"{provider}: not run: {exc}")
                failed.append(provider)
                continue
            progress.done()
            self.stdout.write(summary_line(run))
            if run.status != SyncRun.Status.SUCCEEDED:
                failed.append(provider)
        if failed:
            raise CommandError(f"sync failed for {', '.join(failed)}")


def summary_line(run: SyncRun) -> str:
    seconds = (run.progress or {}).get("duration_s")
    took = f" in {seconds:.1f}s" if seconds is not None else ""
    line = (
        f"{run.provider}: {run.status}{took}: fetched {run.fetched}, created {run.created}, "
        f"updated {run.updated}, unchanged {run.unchanged}, failed {run.failed}"
    )
    rec = run.reconciliation or {}
    extras = [
        f"{label} {rec[key]}"
        for key, label in (
            ("missed_by_webhooks", "missed by webhooks"),
            ("cancellations_discovered", "cancellations discovered"),
            ("team_members", "team members"),
        )
        if rec.get(key)
    ]
    if extras:
        line += "; " + ", ".join(extras)
    if run.error:
        line += f"; error: {run.error}"
    return line


class _Progress:
    """A one-line bar on stderr, redrawn per committed page (a total when the API gives one)."""

    def __init__(self, provider, wrapper):
        self.provider = provider
        self.wrapper = wrapper
        self.spin = 0
        self.drawn = False

    def __call__(self, run: SyncRun) -> None:
        self.spin += 1
        current = (run.progress or {}).get("current") or "starting"
        pos = self.spin % BAR_WIDTH
        bar = "." * pos + "#" + "." * (BAR_WIDTH - pos - 1)
        self.wrapper.write(
            f"\r{self.provider:9} [{bar}] {current:24.24} {run.fetched:>8} fetched, "
            f"{run.created} new, {run.updated} updated, {run.failed} failed",
            ending="",
        )
        self.wrapper.flush()
        self.drawn = True

    def done(self) -> None:
        if self.drawn:
            self.wrapper.write("")
            self.drawn = False


def _since(value: str) -> datetime:
    moment = parse_datetime(value)
    if moment is None:
        day = parse_date(value)
        if day is None:
            raise CommandError(f"--since {value!r}: give a date (2026-01-31) or an ISO datetime.")
        moment = datetime.combine(day, time.min)
    return moment if moment.tzinfo else moment.replace(tzinfo=UTC)
