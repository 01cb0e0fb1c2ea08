"""The deployment files are valid (scripts/validate-deploy) and agree with the code:
settings, metric names and labels, queue name, upload limits and tool versions."""

from __future__ import annotations

import json
import re
import shutil
import subprocess
import tomllib
from pathlib import Path
from types import SimpleNamespace

import yaml

from snapscale.api.body_limit import MULTIPART_OVERHEAD
from snapscale.config import ENV_PREFIX, Settings
from snapscale.observability import api as api_observability
from snapscale.observability import metrics
from snapscale.observability import wsgi as site_observability
from snapscale.worker.sender import QUEUE
from tests.deploy.conftest import (
    DEPLOY,
    REPO,
    deploy_text_files,
    k8s_resource,
    kustomization,
    load_documents,
    run_validate,
)

CHECKS = (
    "compose.yaml resolves",
    "Kubernetes manifests (Kubernetes 1.30, strict)",
    "Kubernetes manifests (newest known Kubernetes, strict)",
    "KEDA resources against the vendored schemas",
    "Dockerfile (hadolint)",
    "nginx template renders the same both ways and passes nginx -t",
    "Prometheus configuration and rules (promtool)",
    "alert rules' unit tests (promtool)",
    "Grafana dashboard queries are PromQL (promtool)",
    "Grafana provisioning and dashboards parse",
)


def test_every_deployment_file_validates(validation: subprocess.CompletedProcess[str]) -> None:
    assert validation.returncode == 0, validation.stdout + validation.stderr
    for check in CHECKS:
        assert f"ok    {check}" in validation.stdout
    assert "FAIL" not in validation.stdout


def test_validation_fails_on_each_kind_of_mistake(tmp_path: Path) -> None:
    broken = tmp_path / "deploy"
    shutil.copytree(DEPLOY, broken)
    _replace(broken / "k8s/api.yaml", "readOnlyRootFilesystem", "readOnlyRootFileSystem")
    _replace(broken / "k8s/worker-autoscaling.yaml", "minReplicaCount: 1", "minReplicas: 1")
    _replace(broken / "compose.yaml", "    restart: unless-stopped\n", "    restart_when: always\n")
    _replace(broken / "Dockerfile", "USER 10001:10001\n", "RUN apt-get install curl\n")
    nginx_template = broken / "nginx/snapscale.conf.template"
    _replace(nginx_template, "proxy_pass http://snapscale_web;", "proxy_pass http://snapscale_web")
    _replace(broken / "prometheus/alerts.yml", "> 300", "> > 300")
    dashboard = broken / "grafana/dashboards/snapscale.json"
    _replace(dashboard, "max(snapscale_job_queue_depth)", "max(snapscale_job_queue_depth")

    result = run_validate(broken)

    assert result.returncode == 1
    failed = {
        line.removeprefix("FAIL  ")
        for line in result.stdout.splitlines()
        if line.startswith("FAIL")
    }
    assert failed >= {
        "compose.yaml resolves with .env.example",
        "Kubernetes manifests (Kubernetes 1.30, strict)",
        "KEDA resources against the vendored schemas",
        "Dockerfile (hadolint)",
        "nginx template renders the same both ways and passes nginx -t",
        "Prometheus configuration and rules (promtool)",
        "Grafana dashboard queries are PromQL (promtool)",
    }
    assert "readOnlyRootFileSystem" in result.stdout
    assert "minReplicas" in result.stdout
    assert "validate-deploy: " in result.stderr


def _replace(path: Path, old: str, new: str) -> None:
    text = path.read_text()
    assert old in text, f"{old!r} not in {path}"
    path.write_text(text.replace(old, new, 1))


def test_every_snapscale_variable_is_a_real_setting() -> None:
    settings = {ENV_PREFIX + name.upper() for name in Settings.model_fields}
    used: dict[str, set[str]] = {}
    for path in [*deploy_text_files(), REPO / ".dockerignore"]:
        for name in re.findall(r"\bSNAPSCALE_[A-Z0-9_]+", path.read_text()):
            used.setdefault(name, set()).add(str(path.relative_to(REPO)))
    unknown = {name: files for name, files in used.items() if name not in settings}
    assert not unknown, f"not settings in config.py: {unknown}"
    assert "SNAPSCALE_SECRET_KEY" in used


def test_kustomization_lists_every_manifest_and_nothing_else() -> None:
    listed = kustomization()["resources"]
    for name in listed:
        assert (DEPLOY / "k8s" / name).is_file(), f"{name} is listed but missing"
    on_disk = {path.name for path in (DEPLOY / "k8s").glob("*.yaml")} - {"kustomization.yaml"}
    assert set(listed) == on_disk, "every manifest in deploy/k8s must be listed, once"
    assert len(listed) == len(set(listed))


def _queries() -> list[tuple[str, str]]:
    """Every PromQL expression of the alerts and dashboards, with where it is from."""
    found = []
    for group in yaml.safe_load((DEPLOY / "prometheus/alerts.yml").read_text())["groups"]:
        found += [(f"alert {rule['alert']}", rule["expr"]) for rule in group["rules"]]
    for path in (DEPLOY / "grafana/dashboards").glob("*.json"):
        for panel in json.loads(path.read_text())["panels"]:
            found += [(f"panel {panel['title']!r}", target["expr"]) for target in panel["targets"]]
    return found


def _metric_names(expr: str) -> set[str]:
    return set(re.findall(r"\b((?:http|snapscale)_[a-z0-9_]+)", expr))


def test_every_metric_queried_is_exported_by_snapscale() -> None:
    source = "\n".join(path.read_text() for path in (REPO / "src/snapscale").rglob("*.py"))
    queried = {name for _, expr in _queries() for name in _metric_names(expr)}
    assert "http_requests_total" in queried
    assert "snapscale_job_queue_oldest_age_seconds" in queried
    for name in queried:
        base = re.sub(r"_(bucket|count|sum)$", "", name)
        assert f'"{name}"' in source or f'"{base}"' in source, f"{name} is not defined in src"


def test_job_metrics_are_queried_by_the_label_prometheus_gives_them() -> None:
    """A metric label named `job` collides with the scrape job's: Prometheus stores it as
    `exported_job`, so a query grouping such a metric by `job` groups by process kind."""
    families = [metrics.JOBS_STARTED, metrics.JOBS_SUCCEEDED, metrics.JOBS_FAILED]
    families += [metrics.JOBS_RETRIED, metrics.JOB_DURATION]
    (label,) = {family._labelnames for family in families}
    stored_as = ["exported_job" if name == "job" else name for name in label]
    names = {re.sub(r"_total$", "", family._name) for family in families}
    checked = 0
    for where, expr in _queries():
        used = {re.sub(r"_(bucket|count|sum|total)$", "", n) for n in _metric_names(expr)}
        if used & names and " by (" in expr:
            grouped_by = re.findall(r"by \(([^)]*)\)", expr)
            assert all(stored_as[0] in group for group in grouped_by), f"{where}: {expr}"
            assert not re.search(r"\bjob\b", expr), f"{where}: {expr}"
            checked += 1
    assert checked


def test_app_label_values_are_the_front_ends() -> None:
    front_ends = {api_observability.FRONT_END, site_observability.FRONT_END}
    for where, expr in _queries():
        for value in re.findall(r'app="([^"]*)"', expr):
            assert value in front_ends, f"{where}: app={value!r}"


def test_latency_alert_leaves_out_the_real_upload_route(tmp_path: Path) -> None:
    from snapscale.api.app import create_api
    from snapscale.config import load_settings

    alerts = (DEPLOY / "prometheus/alerts.yml").read_text()
    excluded = set(re.findall(r'route!="([^"]+)"', alerts))
    assert excluded
    schema = create_api(load_settings(data_dir=tmp_path)).openapi()
    for route in excluded:
        assert "post" in schema["paths"].get(route, {}), f"{route} is not the upload route"


def test_body_limits_fit_the_largest_upload() -> None:
    # The deployments keep the default upload limit.
    largest_request = Settings.model_fields["upload_max_bytes"].default + MULTIPART_OVERHEAD
    template = (DEPLOY / "nginx/snapscale.conf.template").read_text()
    nginx_limit = re.search(r"client_max_body_size (\d+)m;", template)
    assert nginx_limit is not None
    assert int(nginx_limit.group(1)) * 1024 * 1024 >= largest_request
    for ingress in load_documents(DEPLOY / "k8s/ingress.yaml"):
        if ingress["kind"] == "Ingress":
            size = ingress["metadata"]["annotations"]["nginx.ingress.kubernetes.io/proxy-body-size"]
            assert size == f"{nginx_limit.group(1)}m", ingress["metadata"]["name"]


def test_keda_watches_the_celery_queue_in_the_broker_database() -> None:
    scaled = k8s_resource("ScaledObject", "snapscale-worker")
    (trigger,) = scaled["spec"]["triggers"]
    assert trigger["type"] == "redis"
    assert trigger["metadata"]["listName"] == QUEUE
    broker_url = k8s_resource("Secret", "snapscale-secrets")["stringData"]["SNAPSCALE_BROKER_URL"]
    assert broker_url.rsplit("/", 1)[1] == trigger["metadata"]["databaseIndex"]
    auth = k8s_resource("TriggerAuthentication", trigger["authenticationRef"]["name"])
    for ref in auth["spec"]["secretTargetRef"]:
        assert ref["key"] in k8s_resource("Secret", ref["name"])["stringData"]


def test_example_secrets_are_placeholders() -> None:
    example = dict(
        line.split("=", 1)
        for line in (DEPLOY / ".env.example").read_text().splitlines()
        if line and not line.startswith("#")
    )
    for name, value in example.items():
        if re.search(r"PASSWORD|SECRET", name):
            assert value.startswith("CHANGE-ME"), name
    for secret in (doc for doc in load_documents(DEPLOY / "k8s/secret.yaml")):
        for name, value in secret["stringData"].items():
            where = f"{secret['metadata']['name']}.{name}"
            assert value == "" or "placeholder" in value.lower(), where


def test_image_uses_the_uv_the_makefile_pins_and_a_supported_python() -> None:
    dockerfile = (DEPLOY / "Dockerfile").read_text()
    pinned = re.search(r"^UV_VERSION := (\S+)$", (REPO / "Makefile").read_text(), re.MULTILINE)
    assert pinned is not None
    assert f"FROM ghcr.io/astral-sh/uv:{pinned.group(1)} AS uv" in dockerfile
    python = re.search(r"^ARG PYTHON_VERSION=3\.(\d+)$", dockerfile, re.MULTILINE)
    requires = tomllib.loads((REPO / "pyproject.toml").read_text())["project"]["requires-python"]
    minimum = re.fullmatch(r">=3\.(\d+)", requires)
    assert python is not None and minimum is not None
    assert int(python.group(1)) >= int(minimum.group(1))
    assert "uv sync --frozen --no-dev" in dockerfile


def test_nginx_drops_idle_upstream_connections_before_the_servers_do() -> None:
    """Otherwise nginx may send a request on a connection the server is just closing."""
    from gunicorn.config import Config

    from snapscale.production.gunicorn_app import SnapscaleServer
    from snapscale.production.options import ServerOptions

    template = (DEPLOY / "nginx/snapscale.conf.template").read_text()
    upstreams = re.findall(r"^upstream (\w+) \{(.*?)^\}", template, re.DOTALL | re.MULTILINE)
    assert [name for name, _ in upstreams] == ["snapscale_api", "snapscale_web"]
    for (_, block), kind in zip(upstreams, ("api", "web"), strict=True):
        idle = re.search(r"keepalive_timeout (\d+)s;", block)
        assert idle is not None
        # What `snapscale serve --api/--web` hands gunicorn, read without starting it.
        server = SimpleNamespace(
            settings=Settings(),
            options=ServerOptions(kind=kind, bind="127.0.0.1:0", workers=1),
            _on_starting=None,
            _on_exit=None,
        )
        chosen = SnapscaleServer.gunicorn_settings(server)
        assert int(idle.group(1)) < chosen.get("keepalive", Config().keepalive), kind
