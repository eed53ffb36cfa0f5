"""The deployment files under ``deploy/`` are what ``docs/operations.md`` describes and what
the code accepts:

- the Kubernetes manifests validate against the Kubernetes API schemas (kubernetes-validate);
- every command they, the compose file and the systemd units start is a real ``quan`` command
  with real options;
- every ``QUAN_*`` variable they set is a setting Quan reads, and every probe asks a real route;
- the placeholder secrets are ones Quan refuses to start with in production.

What this cannot check here: building the image (no registry for base images on the test machine)
and running the units under a live systemd; ``systemd-analyze verify`` checks the units' syntax and
executables instead.
"""

from __future__ import annotations

import base64
import os
import re
import secrets
import shlex
import shutil
import subprocess
import sys
from pathlib import Path
from typing import Any

import kubernetes_validate
import pytest
import yaml
from fastapi.routing import APIRoute
from typer.testing import CliRunner

from quan.api.app import API_PREFIX, api_routers
from quan.cli import app as cli_app
from quan.config import ConfigError, Settings, load_settings

ROOT = Path(__file__).resolve().parents[2]
DEPLOY = ROOT / "deploy"
KUBE = DEPLOY / "kubernetes"
COMPOSE = DEPLOY / "compose.yaml"
DOCKERFILE = DEPLOY / "docker" / "Dockerfile"
ENV_EXAMPLE = DEPLOY / "quan.env.example"
UNITS = sorted((DEPLOY / "systemd").glob("*.service"))
# Variables the deployment sets that are not Quan settings: uvicorn's trusted proxies.
NOT_SETTINGS = {"FORWARDED_ALLOW_IPS"}


def manifests() -> list[dict[str, Any]]:
    documents = []
    for path in sorted(KUBE.glob("*.yaml")):
        documents += [d for d in yaml.safe_load_all(path.read_text(encoding="utf-8")) if d]
    return documents


def containers(document: dict[str, Any]) -> list[dict[str, Any]]:
    spec = document.get("spec", {})
    pod = spec.get("template", {}).get("spec", {})
    return list(pod.get("containers", []))


def compose() -> dict[str, Any]:
    loaded: dict[str, Any] = yaml.safe_load(COMPOSE.read_text(encoding="utf-8"))
    return loaded


def env_file() -> dict[str, str]:
    pairs = {}
    for line in ENV_EXAMPLE.read_text(encoding="utf-8").splitlines():
        if line.strip() and not line.startswith("#"):
            name, _, value = line.partition("=")
            pairs[name] = value[1:-1] if value[:1] == value[-1:] == "'" else value
    return pairs


def quan_commands() -> list[list[str]]:
    """Every ``quan …`` command line a deployment file starts."""
    commands = []
    for document in manifests():
        commands += [c["command"] for c in containers(document)]
    for service in compose()["services"].values():
        if "command" in service and service.get("image", "").startswith("quan"):
            commands.append(service["command"])
    for unit in UNITS:
        for line in unit.read_text(encoding="utf-8").splitlines():
            if line.startswith("ExecStart="):
                commands.append(shlex.split(line.removeprefix("ExecStart=")))
    docker_cmd = re.search(r"^CMD (\[.*\])$", DOCKERFILE.read_text(encoding="utf-8"), re.M)
    assert docker_cmd is not None
    commands.append(yaml.safe_load(docker_cmd.group(1)))
    return commands


def test_every_kubernetes_manifest_validates_strictly_against_the_kubernetes_api() -> None:
    version = kubernetes_validate.utils.latest_version()
    kinds = set()
    for document in manifests():
        kubernetes_validate.validate(document, version, strict=True)
        kinds.add((document["kind"], document["metadata"]["name"]))
    assert kinds >= {
        ("Deployment", "quan-api"),
        ("Deployment", "quan-worker"),
        ("Service", "quan-api"),
        ("HorizontalPodAutoscaler", "quan-api"),
        ("PodDisruptionBudget", "quan-api"),
        ("PodDisruptionBudget", "quan-worker"),
        ("ConfigMap", "quan-config"),
        ("Secret", "quan-secrets"),
        ("Job", "quan-migrate"),
    }


def test_the_validator_refuses_a_broken_manifest() -> None:
    """So that the test above can fail: a misspelt field is refused in strict mode."""
    deployment = next(d for d in manifests() if d["kind"] == "Deployment")
    broken = yaml.safe_load(yaml.safe_dump(deployment))
    broken["spec"]["replica"] = 3
    with pytest.raises(kubernetes_validate.ValidationError):
        kubernetes_validate.validate(broken, kubernetes_validate.utils.latest_version(), True)


def test_every_command_a_deployment_starts_is_a_real_quan_command_with_real_options() -> None:
    runner = CliRunner()
    commands = quan_commands()
    assert len(commands) >= 10
    for command in commands:
        program = Path(command[0]).name
        assert program == "quan", command
        result = runner.invoke(cli_app, [*command[1:], "--help"])
        assert result.exit_code == 0, (command, result.output)
    # and the check can fail: an option `quan serve` does not have
    assert runner.invoke(cli_app, ["serve", "--threads", "4", "--help"]).exit_code != 0


def test_every_variable_a_deployment_sets_is_a_setting_quan_reads() -> None:
    fields = {f"QUAN_{name.upper()}" for name in Settings.model_fields}
    named: set[str] = set(env_file())
    for document in manifests():
        if document["kind"] == "ConfigMap":
            named |= set(document["data"])
        if document["kind"] == "Secret":
            named |= set(document["stringData"])
    unknown = named - fields - NOT_SETTINGS
    assert not unknown, f"not a Quan setting: {sorted(unknown)}"
    assert {"QUAN_ENV", "QUAN_DATABASE_URL", "QUAN_SECRET_KEY", "QUAN_PII_KEY"} <= named


def _deployment_settings() -> list[dict[str, str]]:
    """The variables of each way to deploy: the env file, and the ConfigMap with the Secret."""
    kube: dict[str, str] = {}
    for document in manifests():
        kube |= document.get("data", {}) | document.get("stringData", {})
    return [env_file(), kube]


def _load(monkeypatch: pytest.MonkeyPatch, values: dict[str, str]) -> Settings:
    for name in list(os.environ):
        if name.startswith("QUAN_"):
            monkeypatch.delenv(name)
    for name, value in values.items():
        monkeypatch.setenv(name, value)
    return load_settings()


def test_the_placeholder_secrets_are_refused_in_production(monkeypatch: pytest.MonkeyPatch) -> None:
    """Copying the example files unchanged must stop at start-up, not run on known keys."""
    for values in _deployment_settings():
        with pytest.raises(ConfigError, match="known default"):
            _load(monkeypatch, values)


def test_with_real_keys_the_example_settings_start_in_production(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """Apart from the secrets, the examples are complete: production accepts them once the
    placeholders are replaced by generated keys (the SMS provider's checks included)."""
    for values in _deployment_settings():
        real = {
            name: base64.b64encode(secrets.token_bytes(32)).decode()
            if value == "changeme"
            else value
            for name, value in values.items()
        }
        settings = _load(monkeypatch, real)
        assert settings.is_production
        assert settings.sms_provider == "aliyun"
        assert settings.sms_template_ids == {"citizen.otp.login": "SMS_100000001"}
        assert not settings.embedded_sequencer


def _get_routes() -> set[str]:
    return {
        API_PREFIX + route.path
        for router in api_routers(production=True)
        for route in router.routes
        if isinstance(route, APIRoute) and "GET" in route.methods
    }


def test_every_probe_and_health_check_asks_a_route_that_exists_in_production() -> None:
    routes = _get_routes()
    paths = []
    for document in manifests():
        for container in containers(document):
            for probe in ("readinessProbe", "livenessProbe", "startupProbe"):
                if probe in container:
                    paths.append(container[probe]["httpGet"]["path"])
    paths += re.findall(r"127\.0\.0\.1:8000(/[\w/]+)", DOCKERFILE.read_text(encoding="utf-8"))
    assert len(paths) >= 4
    assert set(paths) <= routes, set(paths) - routes
    api = next(d for d in manifests() if d["metadata"]["name"] == "quan-api")
    assert {"readinessProbe", "livenessProbe"} <= set(containers(api)[0])


def test_the_compose_file_migrates_before_it_serves_and_runs_a_worker() -> None:
    services = compose()["services"]
    assert services["migrate"]["command"] == ["quan", "db", "upgrade"]
    for name in ("api", "worker"):
        assert services[name]["depends_on"]["migrate"] == {
            "condition": "service_completed_successfully"
        }
        assert services[name]["env_file"] == "quan.env"
    assert services["worker"]["command"] == ["quan", "worker"]
    build = services["migrate"]["build"]
    assert (COMPOSE.parent / build["context"] / build["dockerfile"]).resolve() == DOCKERFILE


def test_the_image_installs_the_runtime_lock_and_copies_only_files_that_exist() -> None:
    text = DOCKERFILE.read_text(encoding="utf-8")
    assert "--require-hashes -r requirements/runtime.txt" in text
    for line in text.splitlines():
        if line.startswith("COPY ") and "--from=" not in line:
            *sources, _ = line.split()[1:]
            for source in sources:
                assert (ROOT / source).exists(), source


@pytest.mark.skipif(shutil.which("systemd-analyze") is None, reason="systemd-analyze not installed")
def test_the_systemd_units_verify(tmp_path: Path) -> None:
    """``systemd-analyze verify`` on copies that point at this venv's ``quan`` and a user that
    exists here; any warning (an unknown key, a missing executable) fails the test."""
    quan = Path(sys.executable).parent / "quan"
    for unit in UNITS:
        text = unit.read_text(encoding="utf-8")
        text = text.replace("/opt/quan/bin/quan", str(quan))
        text = re.sub(r"^(User|Group)=quan$", r"\1=root", text, flags=re.M)
        text = text.replace("EnvironmentFile=/", "EnvironmentFile=-/")
        (tmp_path / unit.name).write_text(text, encoding="utf-8")
    result = subprocess.run(
        ["systemd-analyze", "verify", "--man=no", *sorted(str(p) for p in tmp_path.iterdir())],
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert result.returncode == 0, result.stderr
    assert not result.stderr.strip(), result.stderr
    assert {u.name for u in UNITS} == {
        "quan-api.service",
        "quan-worker.service",
        "quan-migrate.service",
    }
