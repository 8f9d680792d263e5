"""Docker backend: container names, labels, commands, ports and proxies of each role. No engine needed."""

from __future__ import annotations

import pytest

from gauntlet.stack.docker import roles
from gauntlet.stack.docker.images import RUNTIME_LABEL

STATE_DIR = "/srv/ci/.gauntlet"
PASSWORD = {"GAUNTLET_PG_PASSWORD": "s3cret-Xq"}


def test_names_are_stable_per_state_dir_and_distinct_between_stacks() -> None:
    assert roles.container_name(STATE_DIR, "pg_primary") == roles.container_name(STATE_DIR, "pg_primary")
    assert roles.container_name(STATE_DIR, "api") != roles.container_name("/other/.gauntlet", "api")
    assert roles.network_name(STATE_DIR).startswith("gauntlet-")
    assert roles.container_name(STATE_DIR, "api").startswith(roles.network_name(STATE_DIR) + "-")


def test_network_aliases_are_dns_names() -> None:
    assert roles.network_alias("pg_replica_1") == "pg-replica-1"
    assert roles.network_alias("worker_queue_2") == "worker-queue-2"


def test_labels_and_filter_select_exactly_one_stack() -> None:
    assert roles.labels(STATE_DIR, "api", "api") == {
        "gauntlet.stack": STATE_DIR,
        "gauntlet.service": "api",
        "gauntlet.kind": "api",
    }
    assert roles.labels(STATE_DIR) == {"gauntlet.stack": STATE_DIR}
    assert roles.label_filter(STATE_DIR) == {"label": [f"gauntlet.stack={STATE_DIR}"]}


def test_each_proxy_has_its_own_port_inside_the_toxiproxy_container() -> None:
    ports = [roles.proxy_port(n) for n in ("pg_primary", "pg_replica_1", "pg_replica_2", "redis")]
    assert len(set(ports)) == 4
    with pytest.raises(ValueError, match="no proxy"):
        roles.proxy_port("api")


def test_proxies_listen_in_toxiproxy_and_reach_upstreams_by_name_on_the_network() -> None:
    specs = {s["name"]: s for s in roles.proxy_specs(["pg_primary", "pg_replica_1", "redis"])}
    assert specs["pg_primary"]["upstream"] == "pg-primary:5432"
    assert specs["pg_replica_1"]["upstream"] == "pg-replica-1:5432"
    assert specs["redis"]["upstream"] == "redis:6379"
    assert specs["redis"]["listen"] == f"0.0.0.0:{roles.REDIS_PROXY_PORT}"


def test_platform_reaches_postgres_and_redis_only_through_toxiproxy() -> None:
    env = roles.platform_env(
        pg_password="pw", database="rocker", replicas=["pg_replica_1"], jwt_secret="s", state_dir=STATE_DIR
    )
    assert env["GAUNTLET_PRIMARY_DSN"] == f"postgresql://postgres:pw@toxiproxy:{roles.PROXY_BASE_PORT}/rocker"
    assert env["GAUNTLET_REPLICA_DSNS"].endswith(f"@toxiproxy:{roles.PROXY_BASE_PORT + 1}/rocker")
    assert env["GAUNTLET_REDIS_URL"] == f"redis://toxiproxy:{roles.REDIS_PROXY_PORT}/0"
    assert env["GAUNTLET_STATE_DIR"] == STATE_DIR


def test_primary_initialises_once_allows_replication_and_names_its_cluster() -> None:
    spec = roles.postgres_primary("pgvector/pgvector:pg16", PASSWORD)
    assert spec.user == "postgres" and spec.publish == (roles.PG_PORT,)
    assert spec.command[:2] == ["bash", "-c"]
    script = spec.command[2]
    assert 'if [ ! -s "/var/lib/postgresql/data/PG_VERSION" ]' in script
    assert "host replication all all scram-sha-256" in script
    assert script.rstrip().splitlines()[-1].startswith("exec postgres -D /var/lib/postgresql/data")
    assert "-c cluster_name=pg_primary" in script and "-c 'listen_addresses=*'" in script
    assert "s3cret-Xq" not in script  # the password comes from the environment, not the command line
    assert spec.env == PASSWORD


def test_replica_clones_from_the_primary_by_name_when_its_data_dir_is_empty() -> None:
    spec = roles.postgres_replica("img", "pg_replica_2", PASSWORD)
    script = spec.command[2]
    assert "pg_basebackup -h pg-primary -p 5432 -U postgres" in script and " -R " in script
    assert "-c cluster_name=pg_replica_2" in script
    assert spec.kind == "postgres-replica" and spec.alias == "pg-replica-2"


def test_redis_command_works_with_the_official_entrypoint_and_on_path() -> None:
    spec = roles.redis("redis:7")
    assert spec.command[0] == "redis-server"
    assert spec.command[spec.command.index("--save") + 1] == ""


def test_toxiproxy_command_depends_on_the_image_flavour() -> None:
    public = roles.toxiproxy("ghcr.io/shopify/toxiproxy:2.12.0", "public", ["pg_primary", "redis"])
    assert public.command == ["-host=0.0.0.0", "-port=8474"]
    runtime = roles.toxiproxy("gauntlet/runtime:offline", "runtime", ["pg_primary", "redis"], api_host_port=18474)
    assert runtime.command[:3] == ["python", "-m", "gauntlet.faultproxy"]
    assert runtime.publish == (8474, roles.PROXY_BASE_PORT, roles.REDIS_PROXY_PORT)
    assert runtime.host_ports == {8474: 18474}


def test_flavour_comes_from_the_image_label() -> None:
    assert roles.flavour_of({RUNTIME_LABEL: "1"}) == "runtime"
    assert roles.flavour_of({}) == "public" and roles.flavour_of(None) == "public"


def test_workers_and_api_share_the_hosts_run_dir_for_heartbeats() -> None:
    env = {"GAUNTLET_STATE_DIR": STATE_DIR}
    worker = roles.worker("gauntlet/platform:dev", "worker_queue_1", "queue", env, f"{STATE_DIR}/run", "1000:1000")
    assert worker.binds == {f"{STATE_DIR}/run": f"{STATE_DIR}/run"}
    assert worker.env["GAUNTLET_WORKER_NAME"] == "worker_queue_1"
    assert worker.command == ["python", "-m", "gauntlet.platform.workers", "queue"]
    assert worker.publish == () and worker.user == "1000:1000"
    api = roles.api("gauntlet/platform:dev", env, f"{STATE_DIR}/run", "0:0", host_port=8080)
    assert api.host_ports == {roles.API_PORT: 8080}
    # The platform's own program (platform/cli.py) starts uvicorn with its limits and no access log.
    assert api.command == [
        "python",
        "-m",
        "gauntlet.platform",
        "serve",
        "--host",
        "0.0.0.0",
        "--port",
        str(roles.API_PORT),
    ]
