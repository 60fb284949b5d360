# The platform's image: web, worker and beat run from it with different commands.
FROM python:3.11-slim

ENV PYTHONDONTWRITEBYTECODE=1 PYTHONUNBUFFERED=1 ENVIRONMENT=production
WORKDIR /app

COPY pyproject.toml README.md ./
COPY sdp sdp
COPY auth_org auth_org
COPY disbursements disbursements
COPY receivers receivers
COPY messaging messaging
COPY tss tss
COPY localnet localnet
COPY bench bench
COPY templates templates
COPY manage.py ./
RUN pip install --no-cache-dir . \
    && useradd --system --uid 10001 sdp
USER sdp

EXPOSE 8000
CMD ["gunicorn", "sdp.wsgi", "--bind", "0.0.0.0:8000", "--workers", "3", "--access-logfile", "-"]
