# One image for every process of the bot (setup, web, worker, beat): docker-compose.yml picks
# the process with `python -m cryptobot.launcher serve --only ...`, the layout `make run` uses.
FROM python:3.11-slim-bookworm

ENV PYTHONDONTWRITEBYTECODE=1 \
    PYTHONUNBUFFERED=1 \
    PIP_NO_CACHE_DIR=1 \
    PIP_DISABLE_PIP_VERSION_CHECK=1 \
    PYTHONPATH=/app \
    VAR_DIR=/var/lib/cryptobot \
    RUN_DIR=/run/cryptobot

# nginx is the layout's front proxy: /ws/ to daphne, /static/ from disk, the rest to gunicorn.
RUN apt-get update \
    && apt-get install -y --no-install-recommends nginx-light \
    && rm -rf /var/lib/apt/lists/*

WORKDIR /app

# Dependencies first, so that a code change does not reinstall them. pyproject.toml declares
# no packages: this installs the dependencies only; the code runs from /app (PYTHONPATH).
COPY pyproject.toml ./
RUN pip install .

RUN useradd --system --user-group --uid 10001 --home-dir /app --shell /usr/sbin/nologin cryptobot \
    && mkdir -p "$VAR_DIR" "$RUN_DIR" \
    && chown -R cryptobot:cryptobot "$VAR_DIR" "$RUN_DIR" /var/log/nginx /var/lib/nginx

# The code stays owned by root: the bot can read it, not change it.
COPY . .
RUN python -m compileall -q cryptobot trading ml notifications dashboard

USER cryptobot
EXPOSE 8000
CMD ["python", "-m", "cryptobot.launcher", "serve"]
