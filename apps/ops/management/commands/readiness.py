import json

from django.core.management.base import BaseCommand, CommandError

from apps.ops import health

CHECKS = {
    "database": health.check_database,
    "redis": health.check_redis,
    "migrations": health.check_migrations,
    "beat": health.check_beat,
    "webhook_inbox": health.check_inbox,
}


class Command(BaseCommand):
    help = (
        "Prints the /readyz document (or one check of it) and fails when it is not ok: the "
        "healthcheck of containers that serve no HTTP, such as beat (--check beat)."
    )

    def add_arguments(self, parser):
        parser.add_argument("--check", choices=sorted(CHECKS))

    def handle(self, *args, check=None, **options):
        if check:
            result = health._run(CHECKS[check])
            report = {"status": "ok" if result["ok"] else "fail", "checks": {check: result}}
        else:
            report = health.readiness()
        self.stdout.write(json.dumps(report))
        if report["status"] != "ok":
            raise CommandError("not ready")
