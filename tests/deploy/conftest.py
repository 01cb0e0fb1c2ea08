"""Shared by the deployment tests: where the files are, how to read them, and one run of
scripts/validate-deploy (which also installs the tools the other tests use: nginx)."""

from __future__ import annotations

import subprocess
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import yaml

REPO = Path(__file__).resolve().parents[2]
DEPLOY = REPO / "deploy"
VALIDATE = REPO / "scripts" / "validate-deploy"
# Installing tools on a fresh machine takes a while; every check after that is quick.
VALIDATE_TIMEOUT_SECONDS = 900


def run_validate(deploy_dir: Path = DEPLOY) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [str(VALIDATE), str(deploy_dir)],
        capture_output=True,
        text=True,
        timeout=VALIDATE_TIMEOUT_SECONDS,
        check=False,
    )


@pytest.fixture(scope="session")
def validation() -> subprocess.CompletedProcess[str]:
    return run_validate()


def load_documents(path: Path) -> list[dict[str, Any]]:
    return [doc for doc in yaml.safe_load_all(path.read_text()) if doc]


def kustomization() -> dict[str, Any]:
    loaded: dict[str, Any] = yaml.safe_load((DEPLOY / "k8s" / "kustomization.yaml").read_text())
    return loaded


def k8s_resources() -> list[dict[str, Any]]:
    return [
        doc
        for name in kustomization()["resources"]
        for doc in load_documents(DEPLOY / "k8s" / name)
    ]


def k8s_resource(kind: str, name: str) -> dict[str, Any]:
    for doc in k8s_resources():
        if doc["kind"] == kind and doc["metadata"]["name"] == name:
            return doc
    raise AssertionError(f"no {kind} {name} in the kustomization")


def compose() -> dict[str, Any]:
    loaded: dict[str, Any] = yaml.safe_load((DEPLOY / "compose.yaml").read_text())
    return loaded


def deploy_text_files() -> Iterator[Path]:
    for path in sorted(DEPLOY.rglob("*")):
        if path.is_file():
            yield path
