# syntax=docker/dockerfile:1
# Multi-stage: wheels are built in a throwaway stage; the runtime image has no compiler and runs
# as an unprivileged user.
FROM python:3.11-slim-bookworm AS build
ENV PIP_NO_CACHE_DIR=1 PIP_DISABLE_PIP_VERSION_CHECK=1
WORKDIR /src
COPY requirements.txt requirements.lock ./
RUN pip wheel --wheel-dir /wheels -r requirements.txt -c requirements.lock

FROM python:3.11-slim-bookworm AS runtime
ENV PYTHONDONTWRITEBYTECODE=1 PYTHONUNBUFFERED=1 PIP_NO_CACHE_DIR=1 \
    DJANGO_SETTINGS_MODULE=config.settings PORT=8000
RUN groupadd --system app && useradd --system --gid app --home /app app
# pg_dump / pg_restore for `manage.py backup` and `restore`. pg_dump refuses a server newer than
# itself and Debian 12 ships 15, so the client comes from the PostgreSQL project's repository at
# the server's major version (docker-compose runs postgres:16; pass --build-arg PG_MAJOR=17 for 17).
ARG PG_MAJOR=16
RUN apt-get update -qq \
    && apt-get install -y -qq --no-install-recommends ca-certificates curl gnupg >/dev/null \
    && curl -fsSL https://www.postgresql.org/media/keys/ACCC4CF8.asc \
       | gpg --dearmor -o /usr/share/keyrings/pgdg.gpg \
    && echo "deb [signed-by=/usr/share/keyrings/pgdg.gpg] https://apt.postgresql.org/pub/repos/apt bookworm-pgdg main" \
       > /etc/apt/sources.list.d/pgdg.list \
    && apt-get update -qq \
    && apt-get install -y -qq --no-install-recommends "postgresql-client-${PG_MAJOR}" >/dev/null \
    && apt-get purge -y -qq curl gnupg >/dev/null && apt-get autoremove -y -qq >/dev/null \
    && rm -rf /var/lib/apt/lists/*
WORKDIR /app
COPY --from=build /wheels /wheels
RUN pip install --no-index --find-links=/wheels /wheels/* && rm -rf /wheels
COPY --chown=app:app . .
# collectstatic needs settings that import cleanly; these build-time values are never used at run time.
RUN DEBUG=0 SECRET_KEY=build-only ALLOWED_HOSTS=build DATABASE_URL=sqlite:////tmp/build.db \
    REDIS_URL=redis://build:6379/0 EMAIL_URL=smtp://build:25 FIELD_ENCRYPTION_KEY=b0C7Lw3oQm3Xb8s7tQJm0m1wq3zq5a3vT0xk3m7Zr9U= \
    python manage.py collectstatic --noinput && rm -rf var
USER app
EXPOSE 8000
# Liveness only (the process answers): a dead database must not get every web container
# restarted. Readiness (/readyz) is for the load balancer and compose's web healthcheck. The
# worker and beat services replace this check with their own (docker-compose.yml).
HEALTHCHECK --interval=30s --timeout=5s --start-period=20s --retries=3 \
    CMD ["python", "-m", "apps.ops.probe", "/healthz"]
CMD ["sh", "-c", "gunicorn config.wsgi:application --bind 0.0.0.0:${PORT} --workers ${WEB_CONCURRENCY:-4} --access-logfile - --timeout 30"]
