"""The deployment files agree with the code (no Docker needed: the files are parsed).

docker-compose.yml, the five Dockerfiles, the PostgreSQL init script, Prometheus' scrape
config and the Grafana provisioning + dashboard are checked against what the code says:
`yibao.topology.SERVICES` (names, packages, env prefixes, ports, databases), each service's
settings class (the only environment variable names a service reads) and `yibao.metrics`
(the only metric names a dashboard can chart).
"""

from __future__ import annotations

import fnmatch
import importlib
import json
import re
from collections.abc import Iterator, Mapping
from functools import cache
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import pytest
import yaml
from prometheus_client.metrics import MetricWrapperBase
from pydantic_settings import BaseSettings
from yibao import metrics as yibao_metrics
from yibao.settings import PlatformSettings, ServiceSettings
from yibao.topology import SERVICES, ServiceSpec

ROOT = Path(__file__).resolve().parents[2]
COMPOSE_FILE = ROOT / "docker-compose.yml"
PROMETHEUS_FILE = ROOT / "deploy" / "prometheus" / "prometheus.yml"
GRAFANA_DIR = ROOT / "deploy" / "grafana"
DASHBOARD_FILE = GRAFANA_DIR / "dashboards" / "yibao.json"
DATASOURCES_FILE = GRAFANA_DIR / "provisioning" / "datasources" / "prometheus.yml"
DASHBOARD_PROVIDERS_FILE = GRAFANA_DIR / "provisioning" / "dashboards" / "dashboards.yml"

# uvicorn's graceful-shutdown timeout in yibao.serve: compose must wait longer before SIGKILL.
GRACEFUL_SHUTDOWN_S = 20
# Platform-wide secrets: compose must demand them (`${NAME:?…}`), never default or hard-code.
REQUIRED_SECRETS = ("YIBAO_ADMIN_TOKEN", "YIBAO_JWT_SECRET", "YIBAO_PII_KEY")
# What operators must be able to see on the dashboard (sample names as Prometheus stores them).
DASHBOARD_MUST_CHART = (
    "yibao_http_requests_total",
    "yibao_http_request_duration_seconds_bucket",
    "yibao_events_consumed_total",
    "yibao_consumer_lag_messages",
    "yibao_dlq_messages_total",
    "yibao_outbox_backlog_events",
    "yibao_outbox_oldest_age_seconds",
    "yibao_ready",
)

by_service = pytest.mark.parametrize("spec", SERVICES, ids=[s.name for s in SERVICES])


# --------------------------------------------------------------------------- compose parsing

_VARIABLE = re.compile(
    r"\$(?:(?P<escaped>\$)"
    r"|\{(?P<braced>[A-Za-z_][A-Za-z0-9_]*)(?:(?P<op>:?[-?+])(?P<arg>[^}]*))?\}"
    r"|(?P<bare>[A-Za-z_][A-Za-z0-9_]*))"
)


def interpolate(text: str, env: Mapping[str, str]) -> str:
    """Compose's `${VAR}`, `${VAR:-default}`, `${VAR:?error}`, `${VAR:+alt}`, `$$` rules."""

    def substitute(match: re.Match[str]) -> str:
        if match.group("escaped"):
            return "$"
        name = match.group("braced") or match.group("bare")
        op = match.group("op") or ""
        arg = match.group("arg") or ""
        value = env.get(name)
        is_set = value is not None and (value != "" or not op.startswith(":"))
        if op.endswith("-"):
            return value if is_set and value is not None else arg
        if op.endswith("?"):
            if not is_set or value is None:
                raise ValueError(f"compose requires {name}: {arg}")
            return value
        if op.endswith("+"):
            return arg if is_set else ""
        return value or ""

    return _VARIABLE.sub(substitute, text)


def _interpolate_tree(node: Any, env: Mapping[str, str]) -> Any:
    if isinstance(node, str):
        return interpolate(node, env)
    if isinstance(node, list):
        return [_interpolate_tree(item, env) for item in node]
    if isinstance(node, dict):
        return {key: _interpolate_tree(value, env) for key, value in node.items()}
    return node


def _mapping(node: object, what: str) -> dict[str, Any]:
    assert isinstance(node, dict), f"{what} must be a mapping, got {type(node).__name__}"
    return node


@cache
def raw_compose() -> dict[str, Any]:
    """docker-compose.yml as written (anchors and `<<` merges resolved, `${…}` kept)."""
    return _mapping(yaml.safe_load(COMPOSE_FILE.read_text(encoding="utf-8")), "compose file")


def required_variables() -> set[str]:
    """Variables the compose file refuses to start without (`${NAME:?…}` / `${NAME?…}`)."""
    text = COMPOSE_FILE.read_text(encoding="utf-8")
    return {
        m.group("braced")
        for m in _VARIABLE.finditer(text)
        if m.group("braced") and (m.group("op") or "").endswith("?")
    }


@cache
def compose() -> dict[str, Any]:
    """docker-compose.yml as compose would run it, with every required variable set."""
    env = {name: f"test-{name.lower().replace('_', '-')}" for name in required_variables()}
    return _mapping(_interpolate_tree(raw_compose(), env), "compose file")


def compose_services(document: Mapping[str, Any] | None = None) -> dict[str, dict[str, Any]]:
    services = _mapping((document or compose()).get("services"), "services")
    return {name: _mapping(body, f"service {name}") for name, body in services.items()}


def service(name: str, document: Mapping[str, Any] | None = None) -> dict[str, Any]:
    services = compose_services(document)
    assert name in services, f"docker-compose.yml has no service {name!r}"
    return services[name]


def environment(body: Mapping[str, Any]) -> dict[str, str]:
    """A service's environment, from either the mapping or the `KEY=value` list form."""
    env = body.get("environment") or {}
    if isinstance(env, list):
        pairs = (str(item).partition("=") for item in env)
        return {key: value for key, _, value in pairs}
    return {str(key): "" if value is None else str(value) for key, value in env.items()}


def command_text(body: Mapping[str, Any]) -> str:
    command = body.get("command") or ""
    return " ".join(str(part) for part in command) if isinstance(command, list) else str(command)


def depends_on(body: Mapping[str, Any]) -> dict[str, str]:
    """`depends_on` as {service: condition}; the short list form means `service_started`."""
    deps = body.get("depends_on") or {}
    if isinstance(deps, list):
        return {str(name): "service_started" for name in deps}
    return {
        str(name): str(_mapping(cond or {}, f"depends_on {name}").get("condition", ""))
        or "service_started"
        for name, cond in deps.items()
    }


def published_ports(body: Mapping[str, Any]) -> list[tuple[int | None, int]]:
    """(host port, container port) for every `ports` entry, short or long syntax."""
    result: list[tuple[int | None, int]] = []
    for entry in body.get("ports") or []:
        if isinstance(entry, dict):
            published = entry.get("published")
            result.append((int(published) if published else None, int(entry["target"])))
            continue
        parts = str(entry).split("/")[0].split(":")
        result.append((int(parts[-2]) if len(parts) >= 2 else None, int(parts[-1])))
    return result


def seconds(duration: str) -> float:
    """A compose duration such as `1m30s` or `30s` in seconds."""
    units = {"h": 3600.0, "m": 60.0, "s": 1.0, "ms": 0.001, "us": 1e-6}
    parts = re.findall(r"(\d+(?:\.\d+)?)(ms|us|h|m|s)", duration)
    assert "".join(n + u for n, u in parts) == duration, f"bad duration {duration!r}"
    return sum(float(number) * units[unit] for number, unit in parts)


def healthcheck_command(body: Mapping[str, Any]) -> str:
    check = _mapping(body.get("healthcheck"), "healthcheck")
    assert not check.get("disable"), "healthcheck is disabled"
    test = check.get("test")
    assert test, "healthcheck has no test"
    if isinstance(test, list):
        assert test[0] in ("CMD", "CMD-SHELL"), f"healthcheck test must start with CMD: {test}"
        return " ".join(str(part) for part in test[1:])
    return str(test)


def kafka_advertised_addresses() -> set[str]:
    listeners = environment(service("kafka")).get("KAFKA_ADVERTISED_LISTENERS", "")
    return {item.split("://", 1)[1] for item in listeners.split(",") if "://" in item}


# --------------------------------------------------------------------------- the code's view


@cache
def settings_class(spec: ServiceSpec) -> type[ServiceSettings]:
    """The one ServiceSettings subclass defined in `<package>.settings`."""
    module = importlib.import_module(f"{spec.package}.settings")
    found = [
        obj
        for obj in vars(module).values()
        if isinstance(obj, type)
        and issubclass(obj, ServiceSettings)
        and obj is not ServiceSettings
        and obj.__module__ == module.__name__
    ]
    assert len(found) == 1, f"{module.__name__} should define one ServiceSettings subclass"
    return found[0]


def env_names(settings: type[BaseSettings]) -> set[str]:
    """The environment variables a settings class reads (nested settings models excluded)."""
    prefix = str(settings.model_config.get("env_prefix", ""))
    names: set[str] = set()
    for name, field in settings.model_fields.items():
        annotation = field.annotation
        if isinstance(annotation, type) and issubclass(annotation, BaseSettings):
            continue  # built by its own class under its own prefix (PlatformSettings: YIBAO_)
        if isinstance(field.validation_alias, str):
            names.add(field.validation_alias.upper())
        elif field.alias:
            names.add(field.alias.upper())
        else:
            names.add(prefix + name.upper())
    return names


def valid_service_env(spec: ServiceSpec) -> set[str]:
    return env_names(settings_class(spec)) | env_names(PlatformSettings)


@cache
def exported_samples() -> frozenset[str]:
    """Sample names the metrics of yibao.metrics expose, as Prometheus stores them.

    prometheus_client keeps a Counter's family name without `_total` and exposes
    `<name>_total`; a Histogram exposes `_bucket`, `_sum` and `_count`.
    """
    suffixes = {
        "counter": ("_total",),
        "histogram": ("_bucket", "_sum", "_count"),
        "gaugehistogram": ("_bucket", "_gsum", "_gcount"),
        "summary": ("", "_sum", "_count"),
        "info": ("_info",),
    }
    names: set[str] = set()
    for obj in vars(yibao_metrics).values():
        if isinstance(obj, MetricWrapperBase):
            for family in obj.describe():
                names.update(family.name + suffix for suffix in suffixes.get(family.type, ("",)))
    return frozenset(names)


# --------------------------------------------------------------------------- compose: services


def test_every_compose_variable_is_resolvable() -> None:
    """Interpolation itself: without the required secrets compose must refuse to start."""
    assert set(REQUIRED_SECRETS) <= required_variables()
    with pytest.raises(ValueError, match="compose requires"):
        _interpolate_tree(raw_compose(), {})
    assert "${" not in json.dumps(compose())


@by_service
def test_service_is_built_from_its_dockerfile(spec: ServiceSpec) -> None:
    build = service(spec.name).get("build")
    assert build is not None, f"{spec.name} must be built from source (a `build` section)"
    if isinstance(build, str):
        context, dockerfile = build, "Dockerfile"
    else:
        build = _mapping(build, "build")
        context, dockerfile = (
            str(build.get("context", ".")),
            str(build.get("dockerfile", "Dockerfile")),
        )
    context_dir = (COMPOSE_FILE.parent / context).resolve()
    assert context_dir == ROOT, "the build context must be the repo root (shared/ is needed)"
    assert (context_dir / dockerfile).resolve() == spec.directory(ROOT) / "Dockerfile"


@by_service
def test_service_listens_on_its_contract_port(spec: ServiceSpec) -> None:
    body = service(spec.name)
    assert (spec.port, spec.port) in published_ports(body), (
        f"{spec.name} must publish {spec.port}:{spec.port}, has {body.get('ports')}"
    )
    env = environment(body)
    assert env.get(f"{spec.env_prefix}HOST") == "0.0.0.0", "bind all interfaces in a container"
    assert env.get(f"{spec.env_prefix}PORT", str(spec.port)) == str(spec.port)


@by_service
def test_service_environment_names_exist_in_its_settings(spec: ServiceSpec) -> None:
    env = environment(service(spec.name))
    cls = settings_class(spec)
    assert cls.model_config.get("env_prefix") == spec.env_prefix
    unknown = sorted(set(env) - valid_service_env(spec))
    assert not unknown, f"{spec.name} sets variables no settings field reads: {unknown}"
    for needed in ("HOST", "DATABASE_URL", "KAFKA_BOOTSTRAP_SERVERS"):
        assert f"{spec.env_prefix}{needed}" in env, f"{spec.name} must set {needed}"
    assert set(REQUIRED_SECRETS) <= set(env), f"{spec.name} lacks platform secrets"


@by_service
def test_service_secrets_are_required_substitutions(spec: ServiceSpec) -> None:
    raw_env = environment(service(spec.name, raw_compose()))
    for name in REQUIRED_SECRETS:
        assert re.fullmatch(rf"\$\{{{name}:\?[^}}]*\}}", raw_env.get(name, "")), (
            f"{spec.name}: {name} must be `${{{name}:?…}}` (no default, no literal)"
        )
    raw_dsn = raw_env.get(f"{spec.env_prefix}DATABASE_URL", "")
    assert re.fullmatch(r"postgresql://\w+:\$\{\w+:\?[^}]*\}@[^/]+/\w+", raw_dsn), (
        f"{spec.name}: the database password must be a required `${{…:?…}}`: {raw_dsn}"
    )


@by_service
def test_service_database_url_is_its_own_database(spec: ServiceSpec) -> None:
    dsn = urlsplit(environment(service(spec.name))[f"{spec.env_prefix}DATABASE_URL"])
    assert dsn.scheme in ("postgresql", "postgres")
    assert dsn.hostname == "postgres", "the database is the compose `postgres` service"
    assert dsn.path == f"/{spec.database}", f"{spec.name} must use {spec.database}"
    assert dsn.username, "connect as the service's own role"


def test_each_service_has_its_own_database_and_role() -> None:
    dsns = [urlsplit(environment(service(s.name))[f"{s.env_prefix}DATABASE_URL"]) for s in SERVICES]
    assert len({d.path for d in dsns}) == len(SERVICES)
    assert len({d.username for d in dsns}) == len(SERVICES)


@by_service
def test_service_reaches_kafka_where_it_advertises(spec: ServiceSpec) -> None:
    env = environment(service(spec.name))
    bootstrap = env[f"{spec.env_prefix}KAFKA_BOOTSTRAP_SERVERS"].split(",")
    assert set(bootstrap) <= kafka_advertised_addresses()
    assert env.get(f"{spec.env_prefix}KAFKA_TOPIC_SUFFIX", "") == "", "production topics"
    assert env.get(f"{spec.env_prefix}KAFKA_IDEMPOTENT_PRODUCER", "true").lower() in (
        "true",
        "1",
    ), "Apache Kafka supports idempotent producers: keep them on"


@by_service
def test_service_starts_after_infrastructure_topics_and_migrations(spec: ServiceSpec) -> None:
    deps = depends_on(service(spec.name))
    assert deps.get("postgres") == "service_healthy"
    assert deps.get("kafka") == "service_healthy"
    migrations = migration_service(spec)
    assert deps.get(migrations) == "service_completed_successfully"
    assert deps.get(topic_init_service()) == "service_completed_successfully"


@by_service
def test_service_health_and_graceful_stop(spec: ServiceSpec) -> None:
    body = service(spec.name)
    probe = healthcheck_command(body)
    assert re.search(rf":{spec.port}/(readyz|healthz)\b", probe), probe
    assert seconds(str(body.get("stop_grace_period", "10s"))) > GRACEFUL_SHUTDOWN_S
    assert body.get("restart") in ("unless-stopped", "always", "on-failure")


def test_published_host_ports_are_unique() -> None:
    seen: dict[int, str] = {}
    for name, body in compose_services().items():
        for host, _ in published_ports(body):
            if host is None:
                continue
            assert host not in seen, f"port {host} published by {seen.get(host)} and {name}"
            seen[host] = name


# --------------------------------------------------------------------------- compose: one-shots


def migration_service(spec: ServiceSpec) -> str:
    """The one compose service that runs this service's alembic upgrade."""
    ini = f"services/{spec.name}/alembic.ini"
    found = [
        name
        for name, body in compose_services().items()
        if "alembic" in command_text(body) and ini in command_text(body)
    ]
    assert len(found) == 1, f"need exactly one compose service migrating {spec.name}: {found}"
    return found[0]


@by_service
def test_migrations_run_once_against_the_service_database(spec: ServiceSpec) -> None:
    name = migration_service(spec)
    body = service(name)
    command = command_text(body)
    assert re.search(r"\bupgrade\s+head\b", command), command
    match = re.search(r"dsn=(\S+)", command)
    assert match, f"{name} must pass -x dsn=…"
    dsn = urlsplit(match.group(1))
    own = urlsplit(environment(service(spec.name))[f"{spec.env_prefix}DATABASE_URL"])
    assert (dsn.hostname, dsn.path, dsn.username) == (own.hostname, own.path, own.username)
    assert depends_on(body).get("postgres") == "service_healthy"
    assert body.get("restart", "no") == "no", "a one-shot job must not restart"
    assert body.get("build") == service(spec.name).get("build"), "same image as the service"
    assert body.get("image") == service(spec.name).get("image")


def topic_init_service() -> str:
    """The one compose service that creates the topics (and their dead-letter topics)."""
    found = [
        name
        for name, body in compose_services().items()
        if "all_topics_with_dlq" in command_text(body)
    ]
    assert len(found) == 1, f"need exactly one compose service creating the topics: {found}"
    return found[0]


def test_topics_are_created_before_services_start() -> None:
    body = service(topic_init_service())
    command = command_text(body)
    assert "create_topics" in command
    assert any(address in command for address in kafka_advertised_addresses()), command
    assert depends_on(body).get("kafka") == "service_healthy"
    assert body.get("restart", "no") == "no"


# --------------------------------------------------------------------------- compose: infra


def test_kafka_is_a_single_kraft_node() -> None:
    body = service("kafka")
    assert str(body.get("image", "")).startswith("apache/kafka:4.")
    env = environment(body)
    assert set(env["KAFKA_PROCESS_ROLES"].split(",")) == {"broker", "controller"}
    node_id = env["KAFKA_NODE_ID"]
    voters = env["KAFKA_CONTROLLER_QUORUM_VOTERS"]
    assert voters.startswith(f"{node_id}@"), voters
    assert env["KAFKA_AUTO_CREATE_TOPICS_ENABLE"].lower() == "false"
    assert env["KAFKA_GROUP_INITIAL_REBALANCE_DELAY_MS"] == "0"
    for factor in (
        "KAFKA_OFFSETS_TOPIC_REPLICATION_FACTOR",
        "KAFKA_TRANSACTION_STATE_LOG_REPLICATION_FACTOR",
        "KAFKA_TRANSACTION_STATE_LOG_MIN_ISR",
    ):
        assert env[factor] == "1", f"{factor} must be 1 on one broker"
    assert "kafka-broker-api-versions" in healthcheck_command(body)
    log_dir = env.get("KAFKA_LOG_DIRS", "/tmp/kraft-combined-logs")
    mounts = [str(v).split(":")[1] for v in body.get("volumes") or []]
    assert log_dir in mounts, f"Kafka's log dir {log_dir} must be on a volume"


def test_postgres_creates_every_service_database() -> None:
    body = service("postgres")
    assert str(body.get("image", "")).startswith("postgres:18"), body.get("image")
    assert "pg_isready" in healthcheck_command(body)
    volumes = [str(v) for v in body.get("volumes") or []]
    # 18+ images keep PGDATA in /var/lib/postgresql/18/docker and refuse the old mount point.
    assert any(v.split(":")[1] == "/var/lib/postgresql" for v in volumes), volumes
    init = [v for v in volumes if ":/docker-entrypoint-initdb.d/" in v]
    assert len(init) == 1, f"mount the init script into /docker-entrypoint-initdb.d: {volumes}"
    script = (COMPOSE_FILE.parent / init[0].split(":")[0]).resolve()
    assert script.is_file(), script
    sql = script.read_text(encoding="utf-8")
    owners = dict(re.findall(r"CREATE DATABASE\s+(\w+)\s+OWNER\s+(\w+)", sql, re.IGNORECASE))
    for spec in SERVICES:
        assert spec.database in owners, f"{script.name} must create {spec.database}"
        role = urlsplit(environment(service(spec.name))[f"{spec.env_prefix}DATABASE_URL"])
        assert owners[spec.database] == role.username, f"{spec.database} owned by its service"
    env = environment(body)
    for variable in re.findall(r"\\getenv\s+\w+\s+(\w+)", sql):
        assert env.get(variable), f"the postgres container must have {variable}"


def test_monitoring_stack_is_wired() -> None:
    assert str(service("prometheus").get("image", "")).startswith("prom/prometheus:")
    grafana = service("grafana")
    assert str(grafana.get("image", "")).startswith("grafana/grafana:")
    mounts = dict(str(v).split(":")[:2] for v in grafana.get("volumes") or [])
    assert mounts.get("./deploy/grafana/provisioning") == "/etc/grafana/provisioning"
    providers = _mapping(yaml.safe_load(DASHBOARD_PROVIDERS_FILE.read_text()), "providers")
    paths = {str(_mapping(p, "provider")["options"]["path"]) for p in providers["providers"]}
    assert mounts.get("./deploy/grafana/dashboards") in paths, "dashboards mounted where read"
    prom_mounts = dict(str(v).split(":")[:2] for v in service("prometheus").get("volumes") or [])
    assert prom_mounts.get("./deploy/prometheus") == "/etc/prometheus"


# --------------------------------------------------------------------------- Dockerfiles


def dockerfile_instructions(path: Path) -> list[tuple[str, str]]:
    """(INSTRUCTION, arguments) with continuation lines joined and comments dropped."""
    logical: list[str] = []
    pending = ""
    for line in path.read_text(encoding="utf-8").splitlines():
        stripped = line.strip()
        if stripped.startswith("#") or (not stripped and not pending):
            continue
        if stripped.endswith("\\"):
            pending += stripped[:-1] + " "
            continue
        logical.append(pending + stripped)
        pending = ""
    if pending:
        logical.append(pending)
    result: list[tuple[str, str]] = []
    for text in logical:
        keyword, _, args = text.partition(" ")
        result.append((keyword.upper(), args.strip()))
    return result


def final_stage(instructions: list[tuple[str, str]]) -> list[tuple[str, str]]:
    starts = [i for i, (keyword, _) in enumerate(instructions) if keyword == "FROM"]
    assert starts, "no FROM"
    return instructions[starts[-1] :]


@by_service
def test_dockerfile_builds_and_runs_the_service(spec: ServiceSpec) -> None:
    path = spec.directory(ROOT) / "Dockerfile"
    assert path.is_file(), f"{path} is missing"
    instructions = dockerfile_instructions(path)
    for keyword, args in instructions:
        if keyword == "FROM":
            assert args.split()[0].startswith("python:3.11"), args
    sync = [args for keyword, args in instructions if keyword == "RUN" and "uv sync" in args]
    assert sync, "install with uv sync from the lockfile"
    for args in sync:
        for flag in ("--frozen", "--no-dev", f"--package {spec.name}"):
            assert flag in args, f"`uv sync` must use {flag}: {args}"
    copied = " ".join(args for keyword, args in instructions if keyword == "COPY")
    assert f"services/{spec.name}" in copied
    assert "shared" in copied
    others = [s.name for s in SERVICES if s != spec and f"services/{s.name}" in copied]
    assert not others, f"{spec.name}'s image copies other services: {others}"

    final = final_stage(instructions)
    exposed = {p.split("/")[0] for k, a in final if k == "EXPOSE" for p in a.split()}
    assert str(spec.port) in exposed, f"EXPOSE {spec.port}"
    users = [args for keyword, args in final if keyword == "USER"]
    assert users, "the runtime stage must switch to a non-root USER"
    assert users[-1].split(":")[0] not in ("root", "0"), users[-1]
    checks = [args for keyword, args in final if keyword == "HEALTHCHECK"]
    assert checks
    assert "/healthz" in checks[-1]
    assert str(spec.port) in checks[-1]
    commands = [args for keyword, args in final if keyword == "CMD"]
    assert commands, "CMD missing"
    assert json.loads(commands[-1]) == ["python", "-m", spec.package], commands[-1]
    assert not [a for k, a in final if k == "ENTRYPOINT"], "CMD alone, so compose can override"


def test_dockerignore_keeps_what_the_images_need() -> None:
    patterns = [
        line.strip()
        for line in (ROOT / ".dockerignore").read_text(encoding="utf-8").splitlines()
        if line.strip() and not line.startswith("#")
    ]
    assert ".venv" in patterns
    assert ".git" in patterns
    needed = ["pyproject.toml", "uv.lock", "shared/pyproject.toml", "shared/src/yibao/settings.py"]
    for spec in SERVICES:
        needed += [
            f"services/{spec.name}/pyproject.toml",
            f"services/{spec.name}/alembic.ini",
            f"services/{spec.name}/migrations/env.py",
            f"services/{spec.name}/src/{spec.package}/__main__.py",
        ]
    for path in needed:
        parts = path.split("/")
        prefixes = ["/".join(parts[: i + 1]) for i in range(len(parts))]
        for pattern in patterns:
            if pattern.startswith("!"):
                continue
            bare = pattern.removeprefix("**/")
            hit = [
                p
                for p in prefixes
                if fnmatch.fnmatch(p, pattern) or fnmatch.fnmatch(p.split("/")[-1], bare)
            ]
            assert not hit, f".dockerignore pattern {pattern!r} drops {path}"


# --------------------------------------------------------------------------- Prometheus


def test_prometheus_scrapes_every_service() -> None:
    config = _mapping(yaml.safe_load(PROMETHEUS_FILE.read_text(encoding="utf-8")), "prometheus")
    targets: dict[str, tuple[str, dict[str, Any]]] = {}
    for job in config["scrape_configs"]:
        job = _mapping(job, "scrape config")
        for static in job.get("static_configs") or []:
            for target in static["targets"]:
                targets[str(target)] = (str(job.get("metrics_path", "/metrics")), static)
    for spec in SERVICES:
        address = f"{spec.name}:{spec.port}"
        assert address in targets, f"prometheus.yml does not scrape {address}"
        metrics_path, static = targets[address]
        assert metrics_path == "/metrics"
        assert _mapping(static.get("labels") or {}, "labels").get("service") == spec.name


# --------------------------------------------------------------------------- Grafana


def datasource_uid() -> str:
    document = _mapping(yaml.safe_load(DATASOURCES_FILE.read_text(encoding="utf-8")), "ds")
    prometheus = [ds for ds in document["datasources"] if ds.get("type") == "prometheus"]
    assert len(prometheus) == 1
    assert urlsplit(str(prometheus[0]["url"])).netloc == "prometheus:9090"
    assert "prometheus" in compose_services()
    return str(prometheus[0]["uid"])


def dashboard() -> dict[str, Any]:
    return _mapping(json.loads(DASHBOARD_FILE.read_text(encoding="utf-8")), "dashboard")


def walk_panels(panels: list[Any]) -> Iterator[dict[str, Any]]:
    for panel in panels:
        yield _mapping(panel, "panel")
        yield from walk_panels(panel.get("panels") or [])


def queries(node: Any) -> Iterator[str]:
    """Every PromQL string in the dashboard: panel `expr`s and templating queries."""
    if isinstance(node, dict):
        for key, value in node.items():
            if key in ("expr", "query", "definition") and isinstance(value, str):
                yield value
            else:
                yield from queries(value)
    elif isinstance(node, list):
        for item in node:
            yield from queries(item)


def metric_names(expr: str) -> set[str]:
    without_strings = re.sub(r'"(?:[^"\\]|\\.)*"', '""', expr)
    return set(re.findall(r"(?<![A-Za-z0-9_:])yibao_[A-Za-z0-9_:]*", without_strings))


def test_exported_sample_names_follow_prometheus_client() -> None:
    names = exported_samples()
    assert "yibao_http_requests_total" in names
    assert "yibao_http_requests" not in names
    assert {"yibao_http_request_duration_seconds_bucket", "yibao_ready"} <= names
    assert metric_names('rate(yibao_a_total{x="yibao_b"}[5m]) / yibao_c') == {
        "yibao_a_total",
        "yibao_c",
    }


def test_dashboard_queries_only_metrics_the_services_export() -> None:
    used = {name for expr in queries(dashboard()) for name in metric_names(expr)}
    assert used, "the dashboard charts no yibao metric"
    unknown = sorted(used - exported_samples())
    assert not unknown, f"dashboard queries metrics yibao.metrics does not export: {unknown}"


def test_dashboard_charts_the_operational_signals() -> None:
    used = {name for expr in queries(dashboard()) for name in metric_names(expr)}
    missing = sorted(set(DASHBOARD_MUST_CHART) - used)
    assert not missing, f"dashboard lacks panels for {missing}"


def test_dashboard_panels_use_the_provisioned_datasource() -> None:
    uid = datasource_uid()
    board = dashboard()
    assert board.get("uid")
    assert board.get("title")
    panels = list(walk_panels(board["panels"]))
    ids = [panel["id"] for panel in panels]
    assert len(ids) == len(set(ids)), "panel ids must be unique"
    for panel in panels:
        if panel.get("type") == "row":
            continue
        assert panel.get("targets"), f"panel {panel.get('title')!r} has no query"
        assert _mapping(panel.get("datasource"), "datasource").get("uid") == uid
        for target in panel["targets"]:
            assert str(target.get("expr", "")).strip(), f"empty query in {panel.get('title')!r}"
