# The platform's image: web, worker and beat run from it with different commands.
FROM python:3.11-slim

ENV PYTHONDONTWRITEBYTECODE=1 PYTHONUNBUFFERED=1 ENVIRONMENT=production
WORKDIR /app

# WeasyPrint's libraries (reports: statements and payment notices as PDF).
RUN apt-get update \
    && apt-get install -y --no-install-recommends libpango-1.0-0 libpangoft2-1.0-0 \
       libharfbuzz0b libharfbuzz-subset0 libfontconfig1 \
    && rm -rf /var/lib/apt/lists/*

COPY pyproject.toml README.md ./
COPY sdp sdp
COPY auth_org auth_org
COPY disbursements disbursements
COPY reports reports
COPY receivers receivers
COPY messaging messaging
COPY tss tss
COPY localnet localnet
COPY bench bench
COPY templates templates
COPY locale locale
COPY manage.py gunicorn.conf.py ./
# collectstatic only imports the settings: placeholders that pass the production
# checks (nothing is served or connected to during the build).
RUN pip install --no-cache-dir . \
    && env DATABASE_URL=postgres://build@localhost/build REDIS_URL=redis://localhost:6379/0 \
       BASE_URL=https://build.invalid ALLOWED_HOSTS=build.invalid DEBUG=false \
       "NETWORK_PASSPHRASE=Test SDF Network ; September 2015" \
       HORIZON_URL=https://horizon-testnet.stellar.org \
       SECRET_KEY=build EC256_PRIVATE_KEY=build SEP10_SIGNING_PUBLIC_KEY=build \
       SEP10_SIGNING_PRIVATE_KEY=build SEP24_JWT_SECRET=build DISTRIBUTION_PUBLIC_KEY=build \
       DISTRIBUTION_SEED=build DISTRIBUTION_ACCOUNT_ENCRYPTION_PASSPHRASE=build \
       CHANNEL_ACCOUNT_ENCRYPTION_PASSPHRASE=build ADMIN_ACCOUNT=build ADMIN_API_KEY=build \
       python manage.py collectstatic --noinput --verbosity 0 \
    && useradd --system --uid 10001 sdp
USER sdp

EXPOSE 8000
# Listeners (PORT public; METRICS_PORT and ADMIN_PORT on INTERNAL_BIND_ADDRESS),
# workers, preload, timeout and the JSON access log: gunicorn.conf.py and
# docs/ports.md. A --bind here would replace the internal listeners.
CMD ["gunicorn", "sdp.wsgi"]
