# FixIt Runbooks: one image for web (gunicorn + whitenoise), Celery worker and beat.
FROM python:3.11-slim

ENV PYTHONDONTWRITEBYTECODE=1 \
    PYTHONUNBUFFERED=1 \
    PIP_NO_CACHE_DIR=1 \
    PIP_DISABLE_PIP_VERSION_CHECK=1 \
    FIXIT_VAR_DIR=/app/var

WORKDIR /app

# Dependencies first, so editing the code does not reinstall them.
COPY pyproject.toml ./
RUN pip install .

COPY . .

# Static files are collected at build time so every container serves the same
# hashed names; the throwaway key only exists for this one command.
RUN DEBUG=0 SECRET_KEY=collectstatic-only-build-key-long-enough-for-the-start-up-check python manage.py collectstatic --noinput \
    && useradd --system --uid 10001 --home-dir /app fixit \
    && mkdir -p /app/var \
    && chown -R fixit /app/var

USER fixit
EXPOSE 8000

CMD ["gunicorn", "fixit_runbooks.wsgi", "--config", "python:fixit_runbooks.gunicorn_conf", "--bind", "0.0.0.0:8000"]
