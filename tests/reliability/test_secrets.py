"""No secret value ever reaches an output: canary values in sensitive-named environment variables
go through validate, every plan format, apply, out-of-band drift and the plan after it."""

from __future__ import annotations

import io
import logging
import secrets
import shutil

import boto3

from .helpers import EXAMPLE, PLAIN

NAMES = ("DB_PASSWORD", "API_TOKEN", "SECRET_KEY")


def _canaries(tag: str) -> dict[str, str]:
    return {name: f"canary-{tag}-{secrets.token_hex(12)}" for name in NAMES}


def test_canary_secrets_never_appear_in_any_output(run_cli, local, tmp_path):
    planted = _canaries("planted")
    app = tmp_path / "app"
    shutil.copytree(EXAMPLE, app, ignore=PLAIN)
    web = app / "web.yaml"
    extra = "".join(f"        - name: {k}\n          value: {v}\n" for k, v in planted.items())
    web.write_text(web.read_text().replace("      environment:\n", "      environment:\n" + extra, 1))
    worker = app / "worker.yaml"  # a sensitive variable in a service that has none yet: shown in a create
    worker.write_text(worker.read_text().replace(
        "      environment:\n", f"      environment:\n        - name: API_TOKEN\n          value: {planted['API_TOKEN']}\n", 1))

    log_stream = io.StringIO()
    handler = logging.StreamHandler(log_stream)
    handler.setLevel(logging.DEBUG)
    handler.setFormatter(logging.Formatter("%(name)s %(message)s %(args)s"))
    root = logging.getLogger()
    root.addHandler(handler)
    captured: list[str] = []
    try:
        def run(*args):
            code, out, err, _ = run_cli("--log-level", "INFO", *args)
            captured.extend([out, err])
            return code, out, err

        assert run("validate", str(app))[0] == 0
        for output in ("text", "json", "markdown"):
            assert run("plan", str(app), "--output", output)[0] == 0
        code, out, err = run("apply", str(app), "--yes")
        assert code == 0, err

        # The deployed revision does hold the values (so the checks below are not vacuous).
        ecs = boto3.client("ecs", endpoint_url=local.url, region_name="us-east-1")
        current = ecs.describe_task_definition(taskDefinition="shop-web")["taskDefinition"]
        env = {e["name"]: e["value"] for e in current["containerDefinitions"][0]["environment"]}
        assert {k: env[k] for k in NAMES} == planted

        # Out of band: new secret values in a new revision the service runs.
        drifted = _canaries("drifted")
        containers = current["containerDefinitions"]
        for item in containers[0]["environment"]:
            item["value"] = drifted.get(item["name"], item["value"])
        keep = ("networkMode", "requiresCompatibilities", "cpu", "memory", "executionRoleArn", "runtimePlatform")
        new = ecs.register_task_definition(family="shop-web", containerDefinitions=containers,
                                           **{k: current[k] for k in keep if k in current})["taskDefinition"]
        ecs.update_service(cluster="shop", service="shop-web", taskDefinition=new["taskDefinitionArn"])

        for output in ("text", "json", "markdown"):
            code, out, err = run("plan", str(app), "--output", output, "--detailed-exitcode")
            assert code == 2, err
            if output == "json":
                assert "environment[DB_PASSWORD]" in out  # the drift is reported, its values are not
        code, out, err = run("apply", str(app), "--yes")
        assert code == 0, err
    finally:
        root.removeHandler(handler)

    everything = "\n".join(captured) + log_stream.getvalue()
    assert "(sensitive value)" in everything
    for value in [*planted.values(), *drifted.values()]:
        assert value not in everything, value
