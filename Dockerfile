# Production image: gunicorn for the API, the same image runs Celery worker and beat.
FROM python:3.11-slim AS base
ENV PYTHONDONTWRITEBYTECODE=1 PYTHONUNBUFFERED=1 PIP_NO_CACHE_DIR=1 \
    DJANGO_SETTINGS_MODULE=config.settings STATIC_ROOT=/app/static
WORKDIR /app
COPY pyproject.toml constraints.txt README.md ./
RUN pip install -c constraints.txt .
COPY . .
RUN DJANGO_SECRET_KEY=build-only PII_ENCRYPTION_KEYS=YnVpbGQtb25seS1rZXktbm90LWZvci11c2UtMDAwMDA= PII_HASH_KEY=build-only \
    DATABASE_URL=postgres://build@localhost/build REDIS_URL=redis://localhost \
    python manage.py collectstatic --noinput \
 && useradd --system --uid 1000 app
USER app
EXPOSE 8000
CMD ["gunicorn", "config.wsgi", "--bind", "0.0.0.0:8000", "--workers", "4", "--threads", "4", "--access-logfile", "-"]
