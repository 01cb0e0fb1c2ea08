"""Compose and Kubernetes run the processes the way the code expects: the right command
on the right port, probes on the health routes, graceful stops that fit, one scheduler,
migrations first, hardened containers, and the same public routing as nginx."""

from __future__ import annotations

import re
from typing import Any

import pytest

from snapscale.config import Settings
from snapscale.embedded import API_PATHS
from tests.deploy.conftest import DEPLOY, compose, k8s_resource, k8s_resources

APP_PORTS = {"api": 8000, "web": 8001}
WORKER_METRICS_PORT = Settings.model_fields["worker_metrics_port"].default
TMP = "/tmp"  # noqa: S108 (a mount path in the manifests)


def _container(deployment: dict[str, Any]) -> dict[str, Any]:
    (container,) = deployment["spec"]["template"]["spec"]["containers"]
    return container


def _bind_port(command: list[str]) -> int:
    return int(command[command.index("--bind") + 1].rsplit(":", 1)[1])


@pytest.mark.parametrize("kind", ["api", "web"])
def test_http_deployments_probe_and_expose_the_port_they_serve(kind: str) -> None:
    deployment = k8s_resource("Deployment", f"snapscale-{kind}")
    container = _container(deployment)
    assert container["command"][:3] == ["snapscale", "serve", f"--{kind}"]
    port = _bind_port(container["command"])
    assert port == APP_PORTS[kind]
    (named,) = container["ports"]
    assert named["containerPort"] == port
    assert container["readinessProbe"]["httpGet"] == {"path": "/readyz", "port": named["name"]}
    assert container["livenessProbe"]["httpGet"] == {"path": "/healthz", "port": named["name"]}
    annotations = deployment["spec"]["template"]["metadata"]["annotations"]
    assert annotations["prometheus.io/port"] == str(port)
    assert annotations["prometheus.io/path"] == "/metrics"

    service = k8s_resource("Service", f"snapscale-{kind}")
    pod_labels = deployment["spec"]["template"]["metadata"]["labels"]
    assert service["spec"]["selector"].items() <= pod_labels.items()
    assert service["spec"]["ports"][0]["targetPort"] == named["name"]

    autoscaler = k8s_resource("HorizontalPodAutoscaler", f"snapscale-{kind}")
    assert autoscaler["spec"]["scaleTargetRef"]["name"] == deployment["metadata"]["name"]
    (cpu,) = autoscaler["spec"]["metrics"]
    assert cpu["resource"] == {
        "name": "cpu",
        "target": {"type": "Utilization", "averageUtilization": 80},
    }
    assert "replicas" not in deployment["spec"], "the autoscaler owns the replica count"


def test_graceful_stops_fit_in_the_termination_grace_period() -> None:
    config = k8s_resource("ConfigMap", "snapscale-config")["data"]
    graceful = int(config["SNAPSCALE_GRACEFUL_TIMEOUT_SECONDS"])
    for kind in APP_PORTS:
        deployment = k8s_resource("Deployment", f"snapscale-{kind}")
        pre_stop = _container(deployment)["lifecycle"]["preStop"]["exec"]["command"]
        assert pre_stop[0] == "sleep"
        grace = deployment["spec"]["template"]["spec"]["terminationGracePeriodSeconds"]
        assert grace > int(pre_stop[1]) + graceful


def test_worker_metrics_port_is_scraped_and_probed() -> None:
    deployment = k8s_resource("Deployment", "snapscale-worker")
    container = _container(deployment)
    assert container["command"][:2] == ["snapscale", "worker"]
    (port,) = container["ports"]
    assert port["containerPort"] == WORKER_METRICS_PORT
    annotations = deployment["spec"]["template"]["metadata"]["annotations"]
    assert annotations["prometheus.io/port"] == str(WORKER_METRICS_PORT)
    assert container["livenessProbe"]["tcpSocket"]["port"] == port["name"]


def test_exactly_one_scheduler() -> None:
    beat = k8s_resource("Deployment", "snapscale-beat")
    assert beat["spec"]["replicas"] == 1
    assert beat["spec"]["strategy"] == {"type": "Recreate"}
    schedulers = [
        name
        for name, service in compose()["services"].items()
        if service.get("command", [])[:2] == ["snapscale", "beat"]
    ]
    assert schedulers == ["beat"]


def test_every_container_is_hardened_and_bounded() -> None:
    user = re.search(r"^USER (\d+)", (DEPLOY / "Dockerfile").read_text(), re.MULTILINE)
    assert user is not None
    uid = int(user.group(1))
    workloads = [doc for doc in k8s_resources() if doc["kind"] in ("Deployment", "Job")]
    assert len(workloads) == 5
    for workload in workloads:
        pod = workload["spec"]["template"]["spec"]
        assert pod["securityContext"]["runAsNonRoot"] is True
        assert pod["securityContext"]["runAsUser"] == uid
        assert pod["automountServiceAccountToken"] is False
        volumes = {volume["name"]: volume for volume in pod["volumes"]}
        for container in pod["containers"]:
            where = f"{workload['metadata']['name']}/{container['name']}"
            security = container["securityContext"]
            assert security["readOnlyRootFilesystem"] is True, where
            assert security["allowPrivilegeEscalation"] is False, where
            assert security["capabilities"]["drop"] == ["ALL"], where
            assert {"requests", "limits"} <= container["resources"].keys(), where
            mounts = {mount["mountPath"]: mount["name"] for mount in container["volumeMounts"]}
            assert "emptyDir" in volumes[mounts[TMP]], where
            env = {item["name"]: item["value"] for item in container.get("env", [])}
            if "PROMETHEUS_MULTIPROC_DIR" in env:
                assert "emptyDir" in volumes[mounts[env["PROMETHEUS_MULTIPROC_DIR"]]], where


def test_migration_prerequisites_are_applied_with_it() -> None:
    """The rollout applies `component in (config, migrate)` first and waits for the Job."""
    job = k8s_resource("Job", "snapscale-migrate")
    assert _container(job)["command"] == ["snapscale", "db", "upgrade"]
    pod = job["spec"]["template"]["spec"]
    needed = [("ServiceAccount", pod["serviceAccountName"])]
    for source in _container(job)["envFrom"]:
        kind, ref = (
            ("ConfigMap", "configMapRef") if "configMapRef" in source else ("Secret", "secretRef")
        )
        needed.append((kind, source[ref]["name"]))
    for kind, name in [*needed, ("Job", "snapscale-migrate")]:
        component = k8s_resource(kind, name)["metadata"]["labels"]["app.kubernetes.io/component"]
        assert component in ("config", "migrate"), (kind, name)


def test_compose_runs_migrations_before_any_app_process() -> None:
    services = compose()["services"]
    apps = {name: s for name, s in services.items() if s.get("command", [""])[0] == "snapscale"}
    assert services["migrate"]["command"] == ["snapscale", "db", "upgrade"]
    for name, service in apps.items():
        if name != "migrate":
            assert service["depends_on"]["migrate"] == {
                "condition": "service_completed_successfully"
            }


def test_compose_load_balancer_and_prometheus_reach_every_replica() -> None:
    services = compose()["services"]
    listening: dict[str, int] = {}
    for name, service in services.items():
        command = service.get("command", [])
        if command[:2] == ["snapscale", "serve"]:
            listening[name] = _bind_port(command)
        elif command[:2] == ["snapscale", "worker"]:
            listening[name] = WORKER_METRICS_PORT
    environment = services["nginx"]["environment"]
    for variable, kind in (("API_SERVERS", "--api"), ("WEB_SERVERS", "--web")):
        entries = re.findall(r"server ([\w.-]+):(\d+);", environment[variable])
        assert len(entries) == 2
        for host, port in entries:
            assert kind in services[host]["command"]
            assert listening[host] == int(port)
    scrape = (DEPLOY / "prometheus/prometheus.yml").read_text()
    targets = dict(re.findall(r'"([\w-]+):(\d+)"', scrape))
    for name, port in listening.items():
        assert targets.get(name) == str(port), f"Prometheus does not scrape {name}"


def _ingress_backend(path: str) -> str:
    """The Service a request path reaches, by the Ingress rules (Exact first, then the
    longest Prefix, matched by whole path segments)."""
    exact, prefixes = {}, []
    for ingress in (doc for doc in k8s_resources() if doc["kind"] == "Ingress"):
        for rule in ingress["spec"]["rules"]:
            for entry in rule["http"]["paths"]:
                service = entry["backend"]["service"]["name"]
                if entry["pathType"] == "Exact":
                    exact[entry["path"]] = service
                else:
                    prefixes.append((entry["path"], service))
    if path in exact:
        return exact[path]
    matching = [
        (prefix, service)
        for prefix, service in prefixes
        if prefix == "/" or path == prefix or path.startswith(prefix.rstrip("/") + "/")
    ]
    return max(matching, key=lambda item: len(item[0]))[1]


@pytest.mark.parametrize(
    ("path", "service"),
    [
        ("/api/v1/users/alice", "snapscale-api"),
        ("/api/v1/photos", "snapscale-api"),
        ("/docs", "snapscale-api"),
        ("/docs/oauth2-redirect", "snapscale-api"),
        ("/redoc", "snapscale-api"),
        ("/openapi.json", "snapscale-api"),
        ("/media/photos/1/thumb.webp", "snapscale-api"),
        ("/healthz", "snapscale-api"),
        ("/", "snapscale-web"),
        ("/u/alice", "snapscale-web"),
        ("/upload", "snapscale-web"),
        ("/apiary", "snapscale-web"),
        ("/metrics", "snapscale-closed"),
        ("/readyz", "snapscale-closed"),
    ],
)
def test_ingress_routes_like_nginx(path: str, service: str) -> None:
    assert _ingress_backend(path) == service


def test_ingress_sends_every_embedded_api_path_to_the_api() -> None:
    for prefix in API_PATHS:
        path = prefix + ("x" if prefix.endswith("/") else "")
        expected = "snapscale-closed" if prefix in ("/metrics", "/readyz") else "snapscale-api"
        assert _ingress_backend(path) == expected, path


def test_closed_service_has_no_pods() -> None:
    assert "selector" not in k8s_resource("Service", "snapscale-closed")["spec"]
