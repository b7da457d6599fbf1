# perparb: one image for every process (collector, API/dashboard, strategy runners, migrations).
#   docker build -t perparb:latest .        then docker-compose.yml (docs/operations.md, "Deployment")
# The image holds code only: settings come from the environment, secrets from files mounted at run time
# (PERPARB_MASTER_KEY_FILE, PERPARB_API_TOKEN_FILE); nothing secret is copied in (.dockerignore).

# ---- build: wheels of perparb and every dependency (compilers only here, for any sdist without a wheel)
FROM python:3.10-slim AS build
RUN apt-get update \
 && apt-get install -y --no-install-recommends build-essential cmake libgmp-dev \
 && rm -rf /var/lib/apt/lists/*
ENV PIP_NO_CACHE_DIR=1 PIP_DISABLE_PIP_VERSION_CHECK=1
WORKDIR /src
COPY . .
RUN pip wheel --wheel-dir /wheels .

# ---- runtime: no compiler, a non-root user, the `perparb` command
FROM python:3.10-slim
RUN apt-get update \
 && apt-get install -y --no-install-recommends libgmp10 \
 && rm -rf /var/lib/apt/lists/* \
 && groupadd --system --gid 10001 perparb \
 && useradd --system --uid 10001 --gid perparb --home-dir /home/perparb --create-home --shell /usr/sbin/nologin perparb
ENV PIP_NO_CACHE_DIR=1 PIP_DISABLE_PIP_VERSION_CHECK=1 PYTHONUNBUFFERED=1 PYTHONDONTWRITEBYTECODE=1
COPY --from=build /wheels /wheels
RUN pip install --no-index --find-links=/wheels perparb && rm -rf /wheels
USER perparb
WORKDIR /home/perparb
# one JSON object per log line (Loki and the like); the data directory is the user's own (no embedded database is
# started when DATABASE_URL is set, as in docker-compose.yml)
ENV PERPARB_LOG_FORMAT=json PERPARB_DATA_DIR=/home/perparb/data
EXPOSE 8000
# the API answers /api/v1/health while its database answers; no curl in the image: a standard-library check
# (perparb/healthcheck.py). The collector and runners point it at their --metrics-port (docker-compose.yml).
HEALTHCHECK --interval=30s --timeout=10s --start-period=60s --retries=3 CMD ["python", "-m", "perparb.healthcheck"]
ENTRYPOINT ["perparb"]
CMD ["serve", "--host", "0.0.0.0"]
