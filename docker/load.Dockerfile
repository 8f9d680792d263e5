# Gauntlet's load generator: the image `gauntlet load --workers K --worker-backend docker` runs its
# Locust workers in (gauntlet/load/docker_workers.py).
#
# FROM the platform image docker/build-images.sh has just built from this same checkout (online or
# --offline), so it carries the project installed from the same sources and the same dependencies
# (Locust among them): the workers run the code the master runs. It only adds a user of its own and
# a fixed path to the installed load package (IMAGE_LOAD_DIR in docker_workers.py).
ARG BASE=gauntlet/platform:dev
FROM ${BASE}

# The digest of the load sources it is built from (docker/load-source-digest.sh): `gauntlet load
# --worker-backend docker` warns when this checkout's differ (gauntlet/load/docker_workers.py).
ARG SOURCE_DIGEST=unknown
LABEL org.gauntlet.load="1" \
      org.gauntlet.load.source="${SOURCE_DIGEST}" \
      org.opencontainers.image.title="gauntlet load generator" \
      org.opencontainers.image.source="https://github.com/yalls-ai/gauntlet"

RUN site=$(python -c 'import sysconfig; print(sysconfig.get_paths()["purelib"])') \
 && ln -s "$site/gauntlet/load" /opt/gauntlet/load \
 && test -f /opt/gauntlet/load/locustfile.py \
 && useradd --system --create-home --home-dir /home/locust --shell /usr/sbin/nologin locust \
 && python -m locust --version

USER locust
WORKDIR /home/locust
CMD ["python", "-m", "locust", "--help"]
