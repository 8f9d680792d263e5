"""deploy/kubernetes: every manifest matches the Kubernetes schema, and the pieces are wired to each other.

No cluster: the manifests are validated offline against the OpenAPI-derived JSON schemas that
`kubernetes-validate` ships, and their commands are parsed by the real `gauntlet` CLI without running.
"""

from __future__ import annotations

import copy
import re
from pathlib import Path
from typing import Any

import kubernetes_validate
import pytest
import typer
import typer.main
import yaml

from gauntlet.cli import _register_areas, app
from gauntlet.target import KEYS

DEPLOY = Path(__file__).resolve().parents[2] / "deploy" / "kubernetes"
KUBERNETES_VERSION = "1.30.0"  # the oldest Kubernetes the manifests promise to run on
VARIABLE = re.compile(r"\$\((\w+)\)")  # Kubernetes expands $(NAME) in args from the container's env

Manifest = dict[str, Any]


def manifests() -> list[Manifest]:
    """Every resource `kubectl apply -k deploy/kubernetes` creates, in kustomization order."""
    kustomization = yaml.safe_load((DEPLOY / "kustomization.yaml").read_text())
    found: list[Manifest] = []
    for name in kustomization["resources"]:
        found += [doc for doc in yaml.safe_load_all((DEPLOY / name).read_text()) if doc]
    return found


def one(kind: str, name: str) -> Manifest:
    matches = [m for m in manifests() if m["kind"] == kind and m["metadata"]["name"] == name]
    assert len(matches) == 1, f"expected one {kind} {name}, found {len(matches)}"
    return matches[0]


def pod_spec(manifest: Manifest) -> dict[str, Any]:
    if manifest["kind"] == "CronJob":
        return dict(manifest["spec"]["jobTemplate"]["spec"]["template"]["spec"])
    return dict(manifest["spec"]["template"]["spec"])


def workloads() -> list[Manifest]:
    return [m for m in manifests() if m["kind"] in ("Job", "CronJob")]


def option(args: list[str], name: str) -> str:
    return args[args.index(name) + 1]


def settings() -> dict[str, str]:
    return dict(one("ConfigMap", "gauntlet-settings")["data"])


def parse(argv: list[str]) -> tuple[str, dict[str, Any]]:
    """The subcommand `gauntlet ARGV` names and its parsed parameters; nothing runs. Bad usage raises."""
    _register_areas()
    command: Any = typer.main.get_command(app)
    context = command.make_context("gauntlet", list(argv))
    while hasattr(command, "resolve_command"):
        name, command, rest = command.resolve_command(context, [*context._protected_args, *context.args])
        context = command.make_context(name, rest, parent=context)
    return str(command.name), dict(context.params)


def expanded(argv: list[str]) -> list[str]:
    """The args as the container sees them: $(NAME) replaced from the ConfigMap."""
    values = settings()
    return [VARIABLE.sub(lambda m: values[m.group(1)], arg) for arg in argv]


def test_the_kustomization_lists_every_manifest() -> None:
    listed = yaml.safe_load((DEPLOY / "kustomization.yaml").read_text())["resources"]
    assert sorted(listed) == sorted(p.name for p in DEPLOY.glob("*.yaml") if p.name != "kustomization.yaml")


@pytest.mark.parametrize("manifest", manifests(), ids=lambda m: f"{m['kind']}/{m['metadata']['name']}")
def test_every_manifest_matches_the_kubernetes_schema(manifest: Manifest) -> None:
    kubernetes_validate.validate(manifest, KUBERNETES_VERSION, strict=True)


def _string_parallelism(job: Manifest) -> None:
    job["spec"]["parallelism"] = "four"


def _misspelt_field(job: Manifest) -> None:
    container = job["spec"]["template"]["spec"]["containers"][0]
    container["comand"] = container.pop("command")


def _args_as_one_string(job: Manifest) -> None:
    container = job["spec"]["template"]["spec"]["containers"][0]
    container["args"] = " ".join(container["args"])


def _no_containers(job: Manifest) -> None:
    del job["spec"]["template"]["spec"]["containers"]


@pytest.mark.parametrize("break_it", [_string_parallelism, _misspelt_field, _args_as_one_string, _no_containers])
def test_a_broken_manifest_fails_validation(break_it: Any) -> None:
    broken = copy.deepcopy(one("Job", "gauntlet-load-workers"))
    break_it(broken)
    with pytest.raises(kubernetes_validate.ValidationError):
        kubernetes_validate.validate(broken, KUBERNETES_VERSION, strict=True)


def test_the_workers_reach_the_master_through_its_service() -> None:
    service = one("Service", "gauntlet-load-master")
    master = one("Job", "gauntlet-load-master")
    workers = one("Job", "gauntlet-load-workers")
    worker_args = pod_spec(workers)["containers"][0]["args"]
    master_container = pod_spec(master)["containers"][0]
    assert option(worker_args, "--master-host") == service["metadata"]["name"]
    (port,) = service["spec"]["ports"]
    assert int(option(worker_args, "--master-port")) == port["port"]
    assert {p["name"]: p["containerPort"] for p in master_container["ports"]}[port["targetPort"]] == port["port"]
    pod_labels = master["spec"]["template"]["metadata"]["labels"]
    assert service["spec"]["selector"].items() <= pod_labels.items()
    # The master waits for exactly the workers the Job starts, all at once.
    expect = int(option(master_container["args"], "--expect-workers"))
    assert workers["spec"]["parallelism"] == workers["spec"]["completions"] == expect


def test_the_monitor_keeps_its_history_on_the_volume_claim() -> None:
    claim = one("PersistentVolumeClaim", "gauntlet-monitor-history")
    spec = pod_spec(one("CronJob", "gauntlet-monitor"))
    (container,) = spec["containers"]
    claims = {v["name"]: v["persistentVolumeClaim"]["claimName"] for v in spec["volumes"]}
    mounted = {m["mountPath"]: claims[m["name"]] for m in container["volumeMounts"]}
    for flag in ("--history", "--page", "--artifacts"):
        path = Path(option(container["args"], flag))
        on = [mount for mount in mounted if path.is_relative_to(mount)]
        assert on and mounted[on[0]] == claim["metadata"]["name"], f"{flag} {path} is not on the claim"
    assert int(option(container["args"], "--max-runs")) == 1  # one run per schedule; the CronJob repeats it


def test_every_setting_comes_from_the_configmap_and_every_key_from_the_secret() -> None:
    config = settings()
    secret = one("Secret", "gauntlet-keys")
    secret_names = set(secret["stringData"])
    read_by_gauntlet = {KEYS["anon_key"][0], KEYS["service_key"][0]}
    assert secret_names == read_by_gauntlet
    assert KEYS["api_url"][0] in config
    assert not secret_names & set(config), "a key in the ConfigMap"
    for workload in workloads():
        for container in pod_spec(workload)["containers"]:
            assert "env" not in container, "a literal env var; put it in the ConfigMap or Secret"
            sources = {
                ("configMap" if "configMapRef" in s else "secret"): (s.get("configMapRef") or s["secretRef"])["name"]
                for s in container["envFrom"]
            }
            assert sources == {"configMap": "gauntlet-settings", "secret": "gauntlet-keys"}
            line = " ".join(container["command"] + container["args"])
            used = set(VARIABLE.findall(line))
            assert used <= set(config), f"{used - set(config)} not in the ConfigMap"
            assert not used & secret_names, "a key on a command line"
            assert "key" not in line.lower(), "a key option on a command line"


EXPECTED_COMMANDS: dict[str, tuple[str, dict[str, Any]]] = {
    "gauntlet-load-master": ("load", {"master": True}),
    "gauntlet-load-workers": ("load", {"worker": True}),
    "gauntlet-monitor": ("run", {"max_runs": 1}),
}


@pytest.mark.parametrize("workload", workloads(), ids=lambda m: str(m["metadata"]["name"]))
def test_every_command_parses_with_the_gauntlet_cli(workload: Manifest) -> None:
    (container,) = pod_spec(workload)["containers"]
    assert container["command"] == ["gauntlet"]
    name, params = parse(expanded(container["args"]))
    expected_name, expected = EXPECTED_COMMANDS[workload["metadata"]["name"]]
    assert name == expected_name
    assert expected.items() <= params.items()
    if params.get("master"):
        assert (params["profile"], params["target"]) == (
            settings()["GAUNTLET_LOAD_PROFILE"],
            settings()["GAUNTLET_API_URL"],
        )


@pytest.mark.parametrize(
    "argv",
    [
        ["load", "mixed", "--master", "--expect-worker", "4"],  # a misspelt option
        ["load", "mixed", "--master", "--expect-workers", "four"],  # not a number
        ["monitor", "run", "--max-runs", "once"],
        ["deploy-nothing"],  # no such command
    ],
)
def test_a_broken_command_fails_to_parse(argv: list[str]) -> None:
    with pytest.raises(typer.TyperException):
        parse(argv)
