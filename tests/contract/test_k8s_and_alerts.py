"""The Kubernetes manifests and the Prometheus alerts agree with the code (no cluster needed).

deploy/k8s/ (kustomize) is parsed and checked against `yibao.topology.SERVICES`, each
service's settings class, docker-compose.yml and `yibao.events.topics`; deploy/prometheus/
alerts.yml against `yibao.metrics` and the runbooks in docs/operations.md. Where the tools
are installed, `kubectl kustomize`, `bash -n` and `promtool` (syntax, config, and unit tests
that make every alert fire) run too; otherwise those checks are skipped, saying why.
"""

from __future__ import annotations

import json
import re
import shutil
import subprocess
from collections.abc import Iterator, Mapping
from functools import cache
from pathlib import Path
from typing import Any

import pytest
import yaml
from yibao.events.topics import all_topics_with_dlq, dlq_topic
from yibao.settings import PlatformSettings
from yibao.topology import SERVICES, ServiceSpec

from tests.contract.test_deployment_shape import (
    GRACEFUL_SHUTDOWN_S,
    REQUIRED_SECRETS,
    ROOT,
    by_service,
    dockerfile_instructions,
    env_names,
    exported_samples,
    final_stage,
    service,
    valid_service_env,
)

K8S_DIR = ROOT / "deploy" / "k8s"
KUSTOMIZATION = K8S_DIR / "kustomization.yaml"
ALERTS_FILE = ROOT / "deploy" / "prometheus" / "alerts.yml"
PROMETHEUS_FILE = ROOT / "deploy" / "prometheus" / "prometheus.yml"
OPERATIONS_DOC = ROOT / "docs" / "operations.md"

NAMESPACE = "yibao"
AUTOSCALED = frozenset({"settlement-ingest", "tracecode-validator"})
# The topic whose partitions bound how many validator replicas can share the real-time work.
VALIDATOR_INPUT = "settlement.requested.v1"
TOPICS_CONFIGMAP = "yibao-topics"
TOPICS_KEY = "topics.tsv"
SCRIPT_KEY = "create-topics.sh"
DAY_MS = 86_400_000

# What the alerts must watch (sample names as Prometheus stores them).
ALERTS_MUST_WATCH = (
    "up",
    "yibao_ready",
    "yibao_consumer_lag_messages",
    "yibao_dlq_messages_total",
    "yibao_outbox_backlog_events",
    "yibao_outbox_oldest_age_seconds",
    "yibao_outbox_dead_total",
    "yibao_http_request_duration_seconds_bucket",
    "yibao_http_requests_total",
)
SEVERITIES = frozenset({"critical", "warning", "info"})


def _mapping(node: object, what: str) -> dict[str, Any]:
    assert isinstance(node, dict), f"{what} must be a mapping, got {type(node).__name__}"
    return node


def _list(node: object, what: str) -> list[Any]:
    assert isinstance(node, list), f"{what} must be a list, got {type(node).__name__}"
    return node


# --------------------------------------------------------------------------- manifests


@cache
def kustomization() -> dict[str, Any]:
    return _mapping(yaml.safe_load(KUSTOMIZATION.read_text(encoding="utf-8")), "kustomization")


@cache
def manifests() -> tuple[dict[str, Any], ...]:
    """Every object of every file the kustomization lists (multi-document YAML)."""
    documents: list[dict[str, Any]] = []
    for resource in _list(kustomization().get("resources"), "resources"):
        path = K8S_DIR / str(resource)
        assert path.is_file(), f"kustomization lists {resource}, which does not exist"
        for document in yaml.safe_load_all(path.read_text(encoding="utf-8")):
            if document is None:
                continue
            body = _mapping(document, f"a document in {resource}")
            for field in ("apiVersion", "kind", "metadata"):
                assert field in body, f"a document in {resource} has no {field}"
            assert _mapping(body["metadata"], "metadata").get("name"), f"unnamed in {resource}"
            documents.append(body)
    return tuple(documents)


def objects(kind: str) -> dict[str, dict[str, Any]]:
    return {str(o["metadata"]["name"]): o for o in manifests() if o["kind"] == kind}


def get(kind: str, name: str) -> dict[str, Any]:
    found = objects(kind)
    assert name in found, f"deploy/k8s has no {kind} {name!r} (has {sorted(found)})"
    return found[name]


def deployment(spec: ServiceSpec) -> dict[str, Any]:
    return get("Deployment", spec.name)


def pod_spec(workload: Mapping[str, Any]) -> dict[str, Any]:
    return _mapping(workload["spec"]["template"]["spec"], "pod spec")


def pod_labels(workload: Mapping[str, Any]) -> dict[str, str]:
    labels = workload["spec"]["template"]["metadata"].get("labels") or {}
    return {str(k): str(v) for k, v in labels.items()}


def main_container(spec: ServiceSpec) -> dict[str, Any]:
    containers = _list(pod_spec(deployment(spec)).get("containers"), "containers")
    named = [c for c in containers if c.get("name") == spec.name]
    assert len(named) == 1, f"{spec.name}'s Deployment needs one container named {spec.name}"
    return _mapping(named[0], "container")


def all_containers(workload: Mapping[str, Any]) -> list[dict[str, Any]]:
    pod = pod_spec(workload)
    return [
        _mapping(c, "container")
        for c in [*(pod.get("initContainers") or []), *(pod.get("containers") or [])]
    ]


def container_env(container: Mapping[str, Any]) -> dict[str, dict[str, Any]]:
    """Name -> the env entry (`value` or `valueFrom`), with `envFrom` ConfigMaps expanded."""
    result: dict[str, dict[str, Any]] = {}
    for source in container.get("envFrom") or []:
        source = _mapping(source, "envFrom")
        assert "secretRef" not in source, (
            "envFrom a Secret hides which variables a container gets: use secretKeyRef"
        )
        ref = _mapping(source.get("configMapRef"), "configMapRef")
        config = get("ConfigMap", str(ref["name"]))
        prefix = str(source.get("prefix", ""))
        for key, value in (config.get("data") or {}).items():
            result[prefix + str(key)] = {"value": str(value), "configMap": ref["name"]}
    for entry in container.get("env") or []:
        entry = _mapping(entry, "env entry")
        result[str(entry["name"])] = entry
    return result


def secret_ref(entry: Mapping[str, Any]) -> tuple[str, str] | None:
    ref = (entry.get("valueFrom") or {}).get("secretKeyRef")
    return (str(ref["name"]), str(ref["key"])) if ref else None


def probe_path(container: Mapping[str, Any], probe: str) -> str:
    body = _mapping(container.get(probe), f"{probe} of {container.get('name')}")
    http = _mapping(body.get("httpGet"), f"{probe}.httpGet")
    return str(http["path"])


def probe_port(container: Mapping[str, Any], probe: str) -> object:
    return container[probe]["httpGet"]["port"]


def image_parts(image: str) -> tuple[str, str]:
    """`repo[:tag]` -> (repo, tag); a registry port is not a tag."""
    repo, _, tag = image.rpartition(":")
    if not repo or "/" in tag:
        return image, ""
    return repo, tag


def selects(selector: Mapping[str, Any], labels: Mapping[str, str]) -> bool:
    wanted = selector.get("matchLabels", selector)
    return bool(wanted) and all(labels.get(str(k)) == str(v) for k, v in wanted.items())


def quantity(value: object) -> float:
    """A Kubernetes quantity (`500m`, `1`, `256Mi`, `1G`) as a number of base units."""
    text = str(value)
    factors = {
        "m": 1e-3,
        "Ki": 2**10,
        "Mi": 2**20,
        "Gi": 2**30,
        "Ti": 2**40,
        "k": 1e3,
        "M": 1e6,
        "G": 1e9,
        "T": 1e12,
    }
    match = re.fullmatch(r"(\d+(?:\.\d+)?)([A-Za-z]*)", text)
    assert match, f"bad quantity {text!r}"
    assert match.group(2) in ("", *factors), f"unknown unit in {text!r}"
    return float(match.group(1)) * factors.get(match.group(2), 1.0)


def topic_table() -> list[tuple[str, int, int, str]]:
    """(topic, partitions, retention.ms, cleanup.policy) from the topic job's ConfigMap."""
    data = _mapping(get("ConfigMap", TOPICS_CONFIGMAP).get("data"), "topics data")
    rows: list[tuple[str, int, int, str]] = []
    for line in str(data[TOPICS_KEY]).splitlines():
        if not line.strip() or line.lstrip().startswith("#"):
            continue
        fields = line.split()
        assert len(fields) == 4, f"{TOPICS_KEY}: want `topic partitions retention cleanup`: {line}"
        rows.append((fields[0], int(fields[1]), int(fields[2]), fields[3]))
    return rows


def topic_job() -> dict[str, Any]:
    jobs = [
        job
        for job in objects("Job").values()
        if any(
            (volume.get("configMap") or {}).get("name") == TOPICS_CONFIGMAP
            for volume in pod_spec(job).get("volumes") or []
        )
    ]
    assert len(jobs) == 1, f"need exactly one Job mounting the {TOPICS_CONFIGMAP} ConfigMap"
    return jobs[0]


# --------------------------------------------------------------------------- k8s: shape


def test_kustomization_lists_every_manifest() -> None:
    listed = {str(r) for r in _list(kustomization().get("resources"), "resources")}
    on_disk = {p.name for p in K8S_DIR.glob("*.y*ml")} - {KUSTOMIZATION.name}
    assert listed == on_disk, f"unlisted: {on_disk - listed}, missing: {listed - on_disk}"
    keys = [(o["kind"], o["metadata"]["name"]) for o in manifests()]
    assert len(keys) == len(set(keys)), "an object is defined twice"


def test_everything_lives_in_the_yibao_namespace() -> None:
    assert kustomization().get("namespace") == NAMESPACE
    assert NAMESPACE in objects("Namespace")
    for body in manifests():
        namespace = body["metadata"].get("namespace", NAMESPACE)
        assert namespace == NAMESPACE, f"{body['kind']} {body['metadata']['name']}: {namespace}"


def test_kustomize_builds() -> None:
    kubectl = shutil.which("kubectl")
    if kubectl is None:
        pytest.skip("kubectl is not installed: `kubectl kustomize deploy/k8s` not run")
    result = subprocess.run(
        [kubectl, "kustomize", str(K8S_DIR)], capture_output=True, text=True, timeout=120
    )
    assert result.returncode == 0, result.stderr
    built = [d for d in yaml.safe_load_all(result.stdout) if d]
    assert len(built) == len(manifests())
    for body in built:
        if body["kind"] != "Namespace":
            assert body["metadata"].get("namespace") == NAMESPACE, body["metadata"]


@by_service
def test_service_has_deployment_service_and_disruption_budget(spec: ServiceSpec) -> None:
    workload = deployment(spec)
    labels = pod_labels(workload)
    assert selects(workload["spec"]["selector"], labels), "the selector must match the pods"
    svc = get("Service", spec.name)
    assert selects(svc["spec"]["selector"], labels), f"Service {spec.name} selects no pods"
    budgets = [
        pdb
        for pdb in objects("PodDisruptionBudget").values()
        if selects(pdb["spec"]["selector"], labels)
    ]
    assert len(budgets) == 1, f"{spec.name} needs exactly one PodDisruptionBudget"
    assert budgets[0]["spec"].get("minAvailable") == 1
    replicas = workload["spec"].get("replicas")
    if spec.name in AUTOSCALED:
        assert replicas is None, "the HPA owns `replicas`; applying the manifest must not reset it"
    else:
        assert isinstance(replicas, int), f"{spec.name}: set `replicas`"
        assert replicas >= 2, "at least 2 replicas, or minAvailable 1 blocks every node drain"


@by_service
def test_service_listens_on_its_contract_port(spec: ServiceSpec) -> None:
    container = main_container(spec)
    ports = {p.get("name"): p for p in container.get("ports") or []}
    assert ports.get("http", {}).get("containerPort") == spec.port, container.get("ports")
    env = container_env(container)
    assert env[f"{spec.env_prefix}HOST"].get("value") == "0.0.0.0"
    assert env[f"{spec.env_prefix}PORT"].get("value") == str(spec.port)
    svc_ports = get("Service", spec.name)["spec"]["ports"]
    assert [p["port"] for p in svc_ports] == [spec.port], svc_ports
    assert svc_ports[0].get("targetPort") in ("http", spec.port)
    annotations = deployment(spec)["spec"]["template"]["metadata"].get("annotations") or {}
    assert annotations.get("prometheus.io/scrape") == "true"
    assert annotations.get("prometheus.io/port") == str(spec.port)
    assert annotations.get("prometheus.io/path", "/metrics") == "/metrics"


@by_service
def test_probes_use_health_and_readiness(spec: ServiceSpec) -> None:
    container = main_container(spec)
    assert probe_path(container, "livenessProbe") == "/healthz", "liveness must not check deps"
    assert probe_path(container, "readinessProbe") == "/readyz"
    if "startupProbe" in container:
        assert probe_path(container, "startupProbe") == "/healthz"
    for probe in ("livenessProbe", "readinessProbe", "startupProbe"):
        if probe in container:
            assert probe_port(container, probe) in ("http", spec.port)
    # /readyz checks the database and Kafka with 2 s each (yibao.observability.CHECK_TIMEOUT_S).
    assert int(container["readinessProbe"].get("timeoutSeconds", 1)) >= 4


@by_service
def test_environment_names_exist_in_its_settings(spec: ServiceSpec) -> None:
    valid = valid_service_env(spec)
    for container in all_containers(deployment(spec)):
        unknown = sorted(set(container_env(container)) - valid)
        assert not unknown, f"{spec.name}/{container['name']} sets unread variables: {unknown}"
    env = container_env(main_container(spec))
    for needed in ("HOST", "PORT", "DATABASE_URL", "KAFKA_BOOTSTRAP_SERVERS"):
        assert f"{spec.env_prefix}{needed}" in env, f"{spec.name} must set {needed}"
    for name in (*REQUIRED_SECRETS, f"{spec.env_prefix}DATABASE_URL"):
        assert secret_ref(env[name]), f"{spec.name}: {name} must come from a Secret"
    assert env.get(f"{spec.env_prefix}KAFKA_TOPIC_SUFFIX", {}).get("value", "") == ""
    idempotent = env.get(f"{spec.env_prefix}KAFKA_IDEMPOTENT_PRODUCER", {"value": "true"})
    assert str(idempotent.get("value")).lower() in ("true", "1"), "keep idempotence on Kafka"


def test_shared_config_maps_hold_platform_settings() -> None:
    platform = get("ConfigMap", "yibao-platform-config")
    unknown = set(platform.get("data") or {}) - env_names(PlatformSettings)
    assert not unknown, f"yibao-platform-config sets unread variables: {sorted(unknown)}"
    assert str(platform["data"].get("YIBAO_EMBEDDED")).lower() == "false"


def test_services_agree_on_kafka_and_platform_secrets() -> None:
    """One bootstrap address and one set of platform secrets for every service."""
    bootstraps: set[str] = set()
    secrets: dict[str, set[tuple[str, str]]] = {name: set() for name in REQUIRED_SECRETS}
    for spec in SERVICES:
        env = container_env(main_container(spec))
        entry = env[f"{spec.env_prefix}KAFKA_BOOTSTRAP_SERVERS"]
        bootstraps.add(json.dumps(entry.get("valueFrom") or entry.get("value"), sort_keys=True))
        for name in REQUIRED_SECRETS:
            found = secret_ref(env[name])
            assert found
            secrets[name].add(found)
    assert len(bootstraps) == 1, f"services disagree on the broker: {bootstraps}"
    assert all(len(refs) == 1 for refs in secrets.values()), secrets


def test_each_service_has_its_own_database_secret() -> None:
    refs = []
    for spec in SERVICES:
        found = secret_ref(container_env(main_container(spec))[f"{spec.env_prefix}DATABASE_URL"])
        assert found
        refs.append(found)
    assert len(set(refs)) == len(SERVICES), f"database URLs must differ per service: {refs}"


def test_every_secret_is_documented() -> None:
    """The Secrets are not in the repository, so the docs must say how to create each one."""
    doc = OPERATIONS_DOC.read_text(encoding="utf-8")
    wanted: dict[str, set[str]] = {}
    for workload in [*objects("Deployment").values(), *objects("Job").values()]:
        for container in all_containers(workload):
            for entry in container_env(container).values():
                found = secret_ref(entry)
                if found:
                    wanted.setdefault(found[0], set()).add(found[1])
    assert wanted
    for name, keys in wanted.items():
        assert f"create secret generic {name}" in doc, f"docs do not create Secret {name}"
        for key in keys:
            assert f"--from-literal={key}=" in doc, f"docs do not set {name}/{key}"


@by_service
def test_image_matches_compose(spec: ServiceSpec) -> None:
    compose_repo, _ = image_parts(str(service(spec.name).get("image")))
    tags = {
        str(entry["name"]): str(entry.get("newTag", ""))
        for entry in kustomization().get("images") or []
    }
    for container in all_containers(deployment(spec)):
        repo, tag = image_parts(str(container["image"]))
        assert repo == compose_repo, f"{container['name']}: {repo} != compose's {compose_repo}"
        assert tag not in ("", "latest"), f"{container['name']}: pin a release, not {tag!r}"
        assert tags.get(repo, tag) == tag, f"kustomization sets {repo}:{tags.get(repo)}"


@by_service
def test_migrations_run_before_the_service(spec: ServiceSpec) -> None:
    init = [
        c
        for c in pod_spec(deployment(spec)).get("initContainers") or []
        if "alembic" in " ".join(map(str, [*(c.get("command") or []), *(c.get("args") or [])]))
    ]
    assert len(init) == 1, f"{spec.name} needs one init container running alembic"
    command = [
        str(part) for part in [*(init[0].get("command") or []), *(init[0].get("args") or [])]
    ]
    text = " ".join(command)
    ini = f"services/{spec.name}/alembic.ini"
    assert re.search(rf"-c {re.escape(ini)}\b", text), text
    assert re.search(r"\bupgrade head$", text), text
    variable = f"{spec.env_prefix}DATABASE_URL"
    assert f"dsn=$({variable})" in command, f"pass -x dsn=$({variable}) (kubelet expands it)"
    own = secret_ref(container_env(main_container(spec))[variable])
    assert secret_ref(container_env(init[0])[variable]) == own, "migrate the service's database"
    assert init[0]["image"] == main_container(spec)["image"], "same image as the service"
    # The path is relative to the image's WORKDIR, where the Dockerfile copies the ini.
    final = final_stage(dockerfile_instructions(spec.directory(ROOT) / "Dockerfile"))
    copies = [args.split()[-1] for keyword, args in final if keyword == "COPY"]
    assert ini in copies, f"the image has no {ini} (final-stage COPY targets: {copies})"
    assert (ROOT / ini).is_file()


@by_service
def test_graceful_shutdown_outlasts_the_drain(spec: ServiceSpec) -> None:
    pod = pod_spec(deployment(spec))
    pre_stop = 0
    hook = ((main_container(spec).get("lifecycle") or {}).get("preStop") or {}).get("exec")
    if hook:
        command = [str(part) for part in hook["command"]]
        assert command[0] == "sleep", command
        pre_stop = int(command[1])
    grace = int(pod.get("terminationGracePeriodSeconds", 30))
    assert grace > GRACEFUL_SHUTDOWN_S + pre_stop, (
        f"{grace} s grace < preStop {pre_stop} s + uvicorn's {GRACEFUL_SHUTDOWN_S} s drain"
    )


@by_service
def test_containers_have_resources_and_run_unprivileged(spec: ServiceSpec) -> None:
    pod = pod_spec(deployment(spec))
    assert pod.get("securityContext", {}).get("runAsNonRoot") is True
    for container in all_containers(deployment(spec)):
        resources = _mapping(container.get("resources"), f"{container['name']} resources")
        for kind in ("cpu", "memory"):
            request = quantity(resources["requests"][kind])
            limit = quantity(resources["limits"][kind])
            assert 0 < request <= limit, f"{container['name']} {kind}: {request} > {limit}"
        security = container.get("securityContext") or {}
        assert security.get("allowPrivilegeEscalation") is False
        assert "ALL" in (security.get("capabilities") or {}).get("drop", [])


def test_autoscalers_target_ingest_and_validator() -> None:
    hpas = objects("HorizontalPodAutoscaler")
    targets: dict[str, dict[str, Any]] = {}
    for hpa in hpas.values():
        assert hpa["apiVersion"] == "autoscaling/v2"
        ref = hpa["spec"]["scaleTargetRef"]
        assert ref["kind"] == "Deployment"
        assert ref["name"] in objects("Deployment"), f"HPA targets unknown {ref['name']}"
        targets[str(ref["name"])] = hpa["spec"]
    assert set(targets) == AUTOSCALED, f"HPAs target {sorted(targets)}"
    for name, spec in targets.items():
        assert spec["minReplicas"] >= 2, f"{name}: minReplicas {spec['minReplicas']}"
        assert spec["maxReplicas"] >= spec["minReplicas"]
        resources = [
            m["resource"] for m in spec.get("metrics") or [] if m.get("type") == "Resource"
        ]
        assert [r["name"] for r in resources] == ["cpu"], f"{name} must scale on CPU"
    partitions = {topic: count for topic, count, _, _ in topic_table()}
    validator_max = targets["tracecode-validator"]["maxReplicas"]
    assert validator_max <= partitions[VALIDATOR_INPUT], (
        f"{validator_max} validator replicas > {partitions[VALIDATOR_INPUT]} partitions of "
        f"{VALIDATOR_INPUT}: the extra replicas would idle"
    )


# --------------------------------------------------------------------------- k8s: topics


def test_topic_list_equals_the_code() -> None:
    names = [row[0] for row in topic_table()]
    assert len(names) == len(set(names)), "a topic is listed twice"
    assert sorted(names) == sorted(all_topics_with_dlq()), (
        f"missing {sorted(set(all_topics_with_dlq()) - set(names))}, "
        f"unknown {sorted(set(names) - set(all_topics_with_dlq()))}"
    )


def test_topics_have_partitions_and_retention() -> None:
    table = {
        topic: (parts, retention, cleanup) for topic, parts, retention, cleanup in topic_table()
    }
    for topic, (parts, retention, cleanup) in table.items():
        assert parts >= 1, topic
        assert cleanup in ("delete", "compact"), f"{topic}: cleanup.policy {cleanup}"
        assert retention == -1 or retention >= DAY_MS, f"{topic}: retention {retention} ms"
        if topic.endswith(".dlq"):
            assert cleanup == "delete", f"{topic}: every dead letter is kept, none compacted"
            assert retention == -1 or retention >= 7 * DAY_MS, f"{topic}: keep a week at least"
        elif cleanup == "delete":
            dlq_retention = table[dlq_topic(topic)][1]
            assert dlq_retention == -1 or (retention != -1 and dlq_retention >= retention), (
                f"{dlq_topic(topic)} must outlive {topic}"
            )


def test_topic_job_uses_the_services_broker_and_compose_kafka() -> None:
    job = topic_job()
    assert pod_spec(job).get("restartPolicy") in ("OnFailure", "Never")
    (container,) = pod_spec(job)["containers"]
    kafka_repo, kafka_tag = image_parts(str(service("kafka").get("image")))
    assert image_parts(str(container["image"])) == (kafka_repo, kafka_tag)
    env = container_env(container)
    bootstrap = env["BOOTSTRAP_SERVERS"].get("valueFrom")
    ingest = next(s for s in SERVICES if s.name == "settlement-ingest")
    expected = container_env(main_container(ingest))[f"{ingest.env_prefix}KAFKA_BOOTSTRAP_SERVERS"]
    assert bootstrap == expected.get("valueFrom"), "the job must create topics where services look"
    script = str(get("ConfigMap", TOPICS_CONFIGMAP)["data"][SCRIPT_KEY])
    mounts = {str(m["name"]): str(m["mountPath"]) for m in container.get("volumeMounts") or []}
    volumes = {str(v["name"]): v for v in pod_spec(job).get("volumes") or []}
    mounted = [mounts[name] for name, v in volumes.items() if "configMap" in v and name in mounts]
    assert len(mounted) == 1
    assert f"{mounted[0]}/{TOPICS_KEY}" in script, "the script must read the mounted table"
    assert f"{mounted[0]}/{SCRIPT_KEY}" in " ".join(map(str, container["command"]))


def test_topic_script_is_valid_bash(tmp_path: Path) -> None:
    bash = shutil.which("bash")
    if bash is None:
        pytest.skip("bash is not installed")
    script = tmp_path / SCRIPT_KEY
    script.write_text(str(get("ConfigMap", TOPICS_CONFIGMAP)["data"][SCRIPT_KEY]))
    result = subprocess.run([bash, "-n", str(script)], capture_output=True, text=True)
    assert result.returncode == 0, result.stderr


# --------------------------------------------------------------------------- alerts: parsing


@cache
def alert_rules() -> tuple[dict[str, Any], ...]:
    document = _mapping(yaml.safe_load(ALERTS_FILE.read_text(encoding="utf-8")), "rules file")
    rules: list[dict[str, Any]] = []
    for group in _list(document.get("groups"), "groups"):
        group = _mapping(group, "group")
        assert group.get("name"), "every rule group needs a name"
        rules += [_mapping(rule, "rule") for rule in _list(group.get("rules"), "rules")]
    return tuple(rules)


def alerts() -> list[dict[str, Any]]:
    return [rule for rule in alert_rules() if "alert" in rule]


_PROMQL_STRING = re.compile(r'"(?:[^"\\]|\\.)*"|\'(?:[^\'\\]|\\.)*\'|`[^`]*`')
_LABEL_LIST = re.compile(r"\b(by|without|on|ignoring|group_left|group_right)\s*\([^)]*\)")
_IDENTIFIER = re.compile(r"(?<![\w:.])[A-Za-z_:][\w:]*(?![\w:])")
_NOT_METRICS = frozenset(
    {
        # binary operators and modifiers
        *("and", "or", "unless", "bool", "offset", "by", "without", "on", "ignoring"),
        *("group_left", "group_right", "atan2", "inf", "nan"),
        # aggregation operators (may be followed by `by (…)` rather than a parenthesis)
        *("sum", "min", "max", "avg", "group", "stddev", "stdvar", "count", "count_values"),
        *("bottomk", "topk", "quantile", "limitk", "limit_ratio"),
    }
)


def promql_metrics(expr: str) -> set[str]:
    """The metric names a PromQL expression reads (functions, keywords, labels left out)."""
    text = _PROMQL_STRING.sub('""', expr)
    text = re.sub(r"#[^\n]*", "", text)
    text = re.sub(r"\{[^}]*\}", "", text)  # label matchers
    text = re.sub(r"\[[^\]]*\]", "", text)  # ranges and subqueries
    text = _LABEL_LIST.sub(r"\1", text)  # by (…), on (…), …: label names
    names: set[str] = set()
    for match in _IDENTIFIER.finditer(text):
        name = match.group(0)
        if name.lower() in _NOT_METRICS or re.match(r"\s*\(", text[match.end() :]):
            continue  # a keyword, an aggregation, or a function call
        names.add(name)
    return names


def prometheus_seconds(duration: str) -> float:
    units = {"ms": 0.001, "s": 1, "m": 60, "h": 3600, "d": 86400, "w": 604800, "y": 31536000}
    parts = re.findall(r"(\d+)(ms|s|m|h|d|w|y)", duration)
    assert "".join(n + u for n, u in parts) == duration != "", f"bad duration {duration!r}"
    return float(sum(int(n) * units[u] for n, u in parts))


def heading_anchors(markdown: str) -> set[str]:
    """GitHub's anchors for the headings of a Markdown file (code blocks skipped)."""
    anchors: set[str] = set()
    seen: dict[str, int] = {}
    in_code = False
    for line in markdown.splitlines():
        if line.lstrip().startswith("```"):
            in_code = not in_code
            continue
        match = None if in_code else re.match(r"#{1,6}\s+(.*?)\s*#*\s*$", line)
        if not match:
            continue
        slug = re.sub(r"[^\w\- ]", "", match.group(1).strip().lower()).replace(" ", "-")
        count = seen.get(slug, 0)
        seen[slug] = count + 1
        anchors.add(slug if count == 0 else f"{slug}-{count}")
    return anchors


def test_promql_metric_extraction() -> None:
    expr = (
        'histogram_quantile(0.99, sum by (job, le) (rate(a_bucket{route="/x", le!="b"}[5m])))'
        " > 0.3 and on (job) sum(rate(a_count[5m] offset 1h)) by (job) > 1e3"
        ' or absent(up{job="yibao"}) unless c_total - ignoring (x) group_left (y) d'
    )
    assert promql_metrics(expr) == {"a_bucket", "a_count", "up", "c_total", "d"}
    assert heading_anchors("# A b\n```\n# not\n```\n### YibaoX\n## A b") == {
        "a-b",
        "yibaox",
        "a-b-1",
    }


def test_alerts_read_only_metrics_the_services_export() -> None:
    rules = alert_rules()
    assert rules, "alerts.yml holds no rules"
    known = exported_samples() | {"up"}
    for rule in rules:
        used = promql_metrics(str(rule["expr"]))
        assert used, f"{rule.get('alert')}: reads no metric"
        unknown = sorted(used - known)
        assert not unknown, f"{rule.get('alert') or rule.get('record')} reads unknown {unknown}"


def test_alerts_watch_the_operational_signals() -> None:
    used = {name for rule in alerts() for name in promql_metrics(str(rule["expr"]))}
    missing = sorted(set(ALERTS_MUST_WATCH) - used)
    assert not missing, f"no alert watches {missing}"
    latency = [
        r for r in alerts() if "yibao_http_request_duration_seconds_bucket" in str(r["expr"])
    ]
    assert any(
        'route="/v1/settlements"' in str(r["expr"])
        and 'method="POST"' in str(r["expr"])
        and "0.3" in str(r["expr"])
        for r in latency
    ), "an alert must hold POST /v1/settlements to its 300 ms p99"


def test_every_alert_has_duration_severity_and_runbook() -> None:
    anchors = heading_anchors(OPERATIONS_DOC.read_text(encoding="utf-8"))
    names = [str(rule["alert"]) for rule in alerts()]
    assert len(names) == len(set(names)), "alert names must be unique"
    for rule in alerts():
        name = rule["alert"]
        assert "for" in rule, f"{name}: no `for:` (fires on one bad scrape)"
        prometheus_seconds(str(rule["for"]))
        assert (rule.get("labels") or {}).get("severity") in SEVERITIES, f"{name}: severity"
        annotations = rule.get("annotations") or {}
        for key in ("summary", "description", "runbook_url"):
            assert str(annotations.get(key, "")).strip(), f"{name}: no {key} annotation"
        path, _, anchor = str(annotations["runbook_url"]).partition("#")
        assert path == "docs/operations.md", f"{name}: runbook {annotations['runbook_url']}"
        assert anchor in anchors, f"{name}: docs/operations.md has no heading #{anchor}"


def test_absent_alert_covers_every_service() -> None:
    absent = [r for r in alerts() if "absent(" in str(r["expr"])]
    assert absent, "an alert must notice a service with no target at all"
    covered = set(re.findall(r'service="([^"]+)"', " ".join(str(r["expr"]) for r in absent)))
    assert covered == {s.name for s in SERVICES}, covered


def test_alert_jobs_match_the_scrape_config() -> None:
    config = _mapping(yaml.safe_load(PROMETHEUS_FILE.read_text(encoding="utf-8")), "prometheus")
    jobs = {str(job["job_name"]) for job in config["scrape_configs"]}
    for rule in alerts():
        for job in re.findall(r'job="([^"]+)"', str(rule["expr"])):
            assert job in jobs, f"{rule['alert']}: no scrape job {job!r}"


def test_prometheus_loads_the_alerts() -> None:
    config = _mapping(yaml.safe_load(PROMETHEUS_FILE.read_text(encoding="utf-8")), "prometheus")
    files = [str(f) for f in config.get("rule_files") or []]
    # Relative paths are relative to the config file, both for promtool and for compose's
    # mount of deploy/prometheus at /etc/prometheus.
    resolved = {(PROMETHEUS_FILE.parent / f).resolve() for f in files if not f.startswith("/")}
    resolved |= {
        PROMETHEUS_FILE.parent / Path(f).relative_to("/etc/prometheus")
        for f in files
        if f.startswith("/etc/prometheus/")
    }
    assert ALERTS_FILE.resolve() in resolved, f"prometheus.yml rule_files {files}"


# --------------------------------------------------------------------------- alerts: promtool


def promtool() -> str:
    found = shutil.which("promtool")
    if found is None:
        pytest.skip(
            "promtool is not on PATH (Debian: apt-get install prometheus; .ci/run unpacks it): "
            "alert rules only parsed, not checked by Prometheus"
        )
    return found


def run_promtool(*args: str, cwd: Path = ROOT) -> subprocess.CompletedProcess[str]:
    return subprocess.run([promtool(), *args], capture_output=True, text=True, timeout=120, cwd=cwd)


def test_promtool_checks_rules() -> None:
    result = run_promtool("check", "rules", str(ALERTS_FILE.relative_to(ROOT)))
    assert result.returncode == 0, result.stdout + result.stderr
    assert f"{len(alert_rules())} rules found" in result.stdout


def test_promtool_checks_config() -> None:
    result = run_promtool("check", "config", str(PROMETHEUS_FILE))
    assert result.returncode == 0, result.stdout + result.stderr
    assert "alerts.yml" in result.stdout, "the config must load alerts.yml"


# Scenario tests for `promtool test rules`: input series at one-minute steps, and the alerts
# expected at a time (labels only: the annotations are stripped from the copy under test).
J = 'job="yibao"'
INGEST = f'{J}, service="settlement-ingest", instance="settlement-ingest:8101"'
VALIDATOR = f'{J}, service="tracecode-validator", instance="tracecode-validator:8102"'
Expected = list[dict[str, str]]
Scenario = tuple[dict[str, str], list[tuple[str, str, Expected]]]


def _up_all(but: str = "") -> dict[str, str]:
    return {
        f'up{{{J}, service="{s.name}", instance="{s.name}:{s.port}"}}': "1x30"
        for s in SERVICES
        if s.name != but
    }


def _settlements(**buckets: str) -> dict[str, str]:
    labels = f'{INGEST}, route="/v1/settlements", method="POST"'
    series = {
        f'yibao_http_request_duration_seconds_bucket{{{labels}, le="{le}"}}': values
        for le, values in buckets.items()
        if le != "count"
    }
    series[f"yibao_http_request_duration_seconds_count{{{labels}}}"] = buckets["count"]
    return {name.replace('le="inf"', 'le="+Inf"'): v for name, v in series.items()}


def _requests(route: str, method: str, status: str, values: str) -> dict[str, str]:
    labels = f'{INGEST}, route="{route}", method="{method}", status="{status}"'
    return {f"yibao_http_requests_total{{{labels}}}": values}


ING = {"job": "yibao", "service": "settlement-ingest"}
VAL = {"job": "yibao", "service": "tracecode-validator"}
DLQ_LABELS = f'{VALIDATOR}, topic="settlement.requested.v1", reason="handler_failed"'
DEAD_LABELS = f'{INGEST}, topic="settlement.requested.v1"'
LAG = f'{VALIDATOR}, topic="inventory.moved.v1"'
SCENARIOS: dict[str, Scenario] = {
    "service down": (
        {
            **_up_all(but="credit-scorer"),
            'up{job="yibao", service="credit-scorer", instance="credit-scorer:8103"}': "1 1 0x20",
        },
        [
            ("1m", "YibaoServiceDown", []),
            (
                "5m",
                "YibaoServiceDown",
                [
                    {
                        "severity": "critical",
                        "job": "yibao",
                        "service": "credit-scorer",
                        "instance": "credit-scorer:8103",
                    }
                ],
            ),
            ("10m", "YibaoServiceAbsent", []),
        ],
    ),
    "service absent": (
        _up_all(but="enrollment-matcher"),
        [
            (
                "10m",
                "YibaoServiceAbsent",
                [{"severity": "critical", "job": "yibao", "service": "enrollment-matcher"}],
            )
        ],
    ),
    "not ready, then flapping": (
        {
            f'yibao_ready{{{INGEST}, check="database"}}': "1 1 0x10",
            f'yibao_ready{{{INGEST}, check="kafka"}}': "1 0 1 0 1 0 1 0 1 0 1 0 1 0 1 0 1 0 1 0",
        },
        [
            (
                "6m",
                "YibaoNotReady",
                [
                    {
                        "severity": "warning",
                        **ING,
                        "instance": "settlement-ingest:8101",
                        "check": "database",
                    }
                ],
            ),
            ("2m", "YibaoReadinessFlapping", []),
            (
                "19m",
                "YibaoReadinessFlapping",
                [
                    {
                        "severity": "warning",
                        **ING,
                        "instance": "settlement-ingest:8101",
                        "check": "kafka",
                    }
                ],
            ),
        ],
    ),
    "first dead letter after a start": (
        {f"yibao_dlq_messages_total{{{DLQ_LABELS}}}": "_x20 1x20"},
        [
            ("19m", "YibaoDeadLetters", []),
            (
                "25m",
                "YibaoDeadLetters",
                [
                    {
                        "severity": "warning",
                        **VAL,
                        "topic": "settlement.requested.v1",
                        "reason": "handler_failed",
                    }
                ],
            ),
            ("25m", "YibaoDeadLettersGrowing", []),
        ],
    ),
    "dead letters keep coming": (
        {f"yibao_dlq_messages_total{{{DLQ_LABELS}}}": "0+30x20"},
        [
            (
                "15m",
                "YibaoDeadLettersGrowing",
                [{"severity": "critical", **VAL, "topic": "settlement.requested.v1"}],
            )
        ],
    ),
    "consumer lag far behind": (
        {f'yibao_consumer_lag_messages{{{LAG}, partition="0"}}': "60000x20"},
        [
            ("5m", "YibaoConsumerLagHigh", []),
            (
                "15m",
                "YibaoConsumerLagHigh",
                [{"severity": "critical", **VAL, "topic": "inventory.moved.v1"}],
            ),
        ],
    ),
    "consumer lag": (
        {
            f'yibao_consumer_lag_messages{{{LAG}, partition="0"}}': "2000+100x30",
            f'yibao_consumer_lag_messages{{{LAG}, partition="1"}}': "10x30",
            f'yibao_consumer_lag_messages{{{VALIDATOR}, topic="settlement.requested.v1", '
            f'partition="0"}}': "0 0 500x20",
        },
        [
            ("5m", "YibaoConsumerLagGrowing", []),
            (
                "25m",
                "YibaoConsumerLagGrowing",
                [{"severity": "warning", **VAL, "topic": "inventory.moved.v1"}],
            ),
            ("25m", "YibaoConsumerLagHigh", []),
            (
                "6m",
                "YibaoSettlementRequestsQueued",
                [{"severity": "critical", **VAL, "topic": "settlement.requested.v1"}],
            ),
        ],
    ),
    "outbox stuck": (
        {
            f"yibao_outbox_oldest_age_seconds{{{INGEST}}}": "0 0 120+60x20",
            f"yibao_outbox_backlog_events{{{INGEST}}}": "0 0 1000x20",
        },
        [
            ("1m", "YibaoOutboxStale", []),
            ("6m", "YibaoOutboxStale", [{"severity": "critical", **ING}]),
            ("15m", "YibaoOutboxBacklog", [{"severity": "warning", **ING}]),
        ],
    ),
    "outbox set aside an event": (
        {f"yibao_outbox_dead_total{{{DEAD_LABELS}}}": "_x10 1x20"},
        [
            ("9m", "YibaoOutboxDead", []),
            (
                "15m",
                "YibaoOutboxDead",
                [{"severity": "critical", **ING, "topic": "settlement.requested.v1"}],
            ),
        ],
    ),
    "slow decisions": (
        _settlements(
            **{
                "0.1": "0x30",
                "0.25": "0+50x30",
                "0.5": "0+100x30",
                "inf": "0+100x30",
                "count": "0+100x30",
            }
        ),
        [("20m", "YibaoDecisionLatencyHigh", [{"severity": "warning", **ING}])],
    ),
    "fast decisions": (
        _settlements(
            **{
                "0.1": "0+100x30",
                "0.25": "0+100x30",
                "0.5": "0+100x30",
                "inf": "0+100x30",
                "count": "0+100x30",
            }
        ),
        [("20m", "YibaoDecisionLatencyHigh", [])],
    ),
    "server errors and deferred sales": (
        {
            **_requests("/v1/settlements", "POST", "200", "0+100x20"),
            **_requests("/v1/settlements", "POST", "202", "0+5x20"),
            **_requests("/v1/settlements", "POST", "500", "0+10x20"),
        },
        [
            ("10m", "YibaoHttp5xxRatio", [{"severity": "critical", **ING}]),
            ("10m", "YibaoSettlementsDeferred", [{"severity": "critical", **ING}]),
        ],
    ),
    "a failing readiness probe is not a server error": (
        {
            **_requests("/v1/settlements", "POST", "200", "0+100x20"),
            **_requests("/readyz", "GET", "503", "0+50x20"),
        },
        [("10m", "YibaoHttp5xxRatio", []), ("10m", "YibaoSettlementsDeferred", [])],
    ),
}


def test_alert_scenarios_cover_every_alert() -> None:
    tested = {check[1] for _, checks in SCENARIOS.values() for check in checks}
    fired = {check[1] for _, checks in SCENARIOS.values() for check in checks if check[2]}
    names = {str(rule["alert"]) for rule in alerts()}
    assert tested == names, f"untested: {names - tested}, unknown: {tested - names}"
    assert fired == names, f"no scenario makes these fire: {sorted(names - fired)}"


def _unit_tests() -> Iterator[dict[str, Any]]:
    for name, (series, checks) in SCENARIOS.items():
        yield {
            "name": name,
            "interval": "1m",
            "input_series": [{"series": s, "values": v} for s, v in series.items()],
            "alert_rule_test": [
                {
                    "eval_time": at,
                    "alertname": alert,
                    "exp_alerts": [{"exp_labels": e} for e in exp],
                }
                for at, alert, exp in checks
            ],
        }


def test_promtool_alerts_fire_as_intended(tmp_path: Path) -> None:
    document = _mapping(yaml.safe_load(ALERTS_FILE.read_text(encoding="utf-8")), "rules file")
    for group in document["groups"]:
        for rule in group["rules"]:
            rule.pop("annotations", None)  # the scenarios check labels, not wording
    rules_file = tmp_path / "alerts.yml"
    rules_file.write_text(yaml.safe_dump(document), encoding="utf-8")
    tests_file = tmp_path / "alerts_test.yml"
    tests_file.write_text(
        yaml.safe_dump(
            {
                "rule_files": [rules_file.name],
                "evaluation_interval": "1m",
                "tests": list(_unit_tests()),
            }
        ),
        encoding="utf-8",
    )
    result = run_promtool("test", "rules", tests_file.name, cwd=tmp_path)
    assert result.returncode == 0, result.stdout + result.stderr
