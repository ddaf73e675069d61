"""No secret value ever reaches an output. Canary secrets are planted in the example app, by name
(sensitive-named environment variables) and where only their value gives them away: a password in
a URL, a Stripe key under a plain name, a log driver's `apikey` option, a Sentry DSN's key, a
`--password=` argument. They go through validate, every plan format, apply, out-of-band drift and
the plan after it, a validation error that quotes one, and the controller's status document, JSON
logs and metrics; none may appear, while `--show-sensitive` shows them."""

from __future__ import annotations

import io
import json
import logging
import random
import secrets
import shutil
import string
from pathlib import Path

import boto3
from prometheus_client import generate_latest

from reconciler.controller import logging_json
from reconciler.controller.loop import Controller, ControllerConfig

from .helpers import EXAMPLE, PLAIN

NAMES = ("DB_PASSWORD", "API_TOKEN", "SECRET_KEY")


def _canaries(tag: str) -> dict[str, str]:
    return {name: f"canary-{tag}-{secrets.token_hex(12)}" for name in NAMES}


def _value_secrets() -> dict[str, str]:
    """The five leaks of a plan that masked by name only: each secret, and the value it hides in."""
    alnum = string.ascii_letters + string.digits
    return {
        "url_password": f"Pw{secrets.token_hex(8)}",
        "stripe_key": "sk_live_" + "".join(random.SystemRandom().choice(alnum) for _ in range(24)),
        "log_apikey": secrets.token_hex(16),
        "sentry_key": secrets.token_hex(16),
        "argv_password": f"hunter{secrets.token_hex(6)}",
    }


def _plant(app: Path, named: dict[str, str], valued: dict[str, str]) -> None:
    web = app / "web.yaml"
    env = "".join(f"        - name: {k}\n          value: {v}\n" for k, v in named.items()) + (
        f"        - name: DATABASE_URL\n          value: postgres://app:{valued['url_password']}@db:5432/app\n"
        f"        - name: STRIPE_SK\n          value: {valued['stripe_key']}\n"
        f"        - name: SENTRY_DSN\n          value: https://{valued['sentry_key']}@o450123.ingest.sentry.io/5566778\n")
    text = web.read_text().replace("      environment:\n", "      environment:\n" + env, 1)
    text = text.replace("          awslogs-stream-prefix: web\n",
                        f"          awslogs-stream-prefix: web\n          apikey: {valued['log_apikey']}\n", 1)
    text = text.replace("      healthCheck:\n",
                        f"      command: [nginx, --password={valued['argv_password']}, -g, 'daemon off;']\n      healthCheck:\n", 1)
    web.write_text(text)
    worker = app / "worker.yaml"  # a sensitive variable in a service that has none yet: shown in a create
    worker.write_text(worker.read_text().replace(
        "      environment:\n", f"      environment:\n        - name: API_TOKEN\n          value: {named['API_TOKEN']}\n", 1))


def test_canary_secrets_never_appear_in_any_output(run_cli, local, tmp_path):
    planted, valued = _canaries("planted"), _value_secrets()
    app = tmp_path / "app"
    shutil.copytree(EXAMPLE, app, ignore=PLAIN)
    _plant(app, planted, valued)

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
            code, out, err = run("plan", str(app), "--output", output)
            assert code == 0, err
            for shown in ("postgres://app:(sensitive value)@db:5432/app", "--password=(sensitive value)",
                          "https://(sensitive value)@o450123.ingest.sentry.io"):
                assert shown in out, (output, shown)  # masked in place: the rest of the value is still shown
        code, out, err = run("apply", str(app), "--yes")
        assert code == 0, err

        # The deployed revision does hold the values (so the checks below are not vacuous).
        ecs = boto3.client("ecs", endpoint_url=local.url, region_name="us-east-1")
        current = ecs.describe_task_definition(taskDefinition="shop-web")["taskDefinition"]
        container = current["containerDefinitions"][0]
        env = {e["name"]: e["value"] for e in container["environment"]}
        assert {k: env[k] for k in NAMES} == planted
        assert env["STRIPE_SK"] == valued["stripe_key"] and valued["url_password"] in env["DATABASE_URL"]
        assert container["logConfiguration"]["options"]["apikey"] == valued["log_apikey"]
        assert f"--password={valued['argv_password']}" in container["command"]

        # Out of band: new secret values in a new revision the service runs.
        drifted, drifted_valued = _canaries("drifted"), _value_secrets()
        for item in container["environment"]:
            item["value"] = drifted.get(item["name"], item["value"])
            for key in ("url_password", "stripe_key", "sentry_key"):
                item["value"] = item["value"].replace(valued[key], drifted_valued[key])
        container["logConfiguration"]["options"]["apikey"] = drifted_valued["log_apikey"]
        container["command"] = [c.replace(valued["argv_password"], drifted_valued["argv_password"])
                                for c in container["command"]]
        keep = ("networkMode", "requiresCompatibilities", "cpu", "memory", "executionRoleArn", "runtimePlatform")
        new = ecs.register_task_definition(family="shop-web", containerDefinitions=[container],
                                           **{k: current[k] for k in keep if k in current})["taskDefinition"]
        ecs.update_service(cluster="shop", service="shop-web", taskDefinition=new["taskDefinitionArn"])

        for output in ("text", "json", "markdown"):
            code, out, err = run("plan", str(app), "--output", output, "--detailed-exitcode")
            assert code == 2, err
            if output == "json":
                for path in ("environment[DB_PASSWORD]", "environment[STRIPE_SK]", "options[apikey]", ".command"):
                    assert path in out, path  # the drift is reported, its values are not
        # Only --show-sensitive shows them (on both sides of the drift).
        _, shown, _, _ = run_cli("plan", str(app), "--output", "json", "--show-sensitive")
        code, out, err = run("apply", str(app), "--yes")
        assert code == 0, err

        # A validation error quotes the value it rejects: the secret part is masked there too.
        broken = tmp_path / "broken"
        shutil.copytree(app, broken)
        web = broken / "web.yaml"
        web.write_text(web.read_text().replace("  launchType: FARGATE", f"  launchType: {valued['stripe_key']}", 1))
        code, out, err = run("validate", str(broken))
        assert code == 1 and "spec.launchType" in err and "(got '(sensitive value)')" in err, err
    finally:
        root.removeHandler(handler)

    everything = "\n".join(captured) + log_stream.getvalue()
    assert "(sensitive value)" in everything
    for value in [*planted.values(), *drifted.values(), *valued.values(), *drifted_valued.values()]:
        assert value not in everything, value
    assert all(value in shown for value in [*planted.values(), *valued.values(), *drifted.values(),
                                            *drifted_valued.values()])


def test_status_document_logs_and_metrics_never_show_a_secret(local_clients, tmp_path):
    """The controller on a directory: one valid pass (plan, apply, status), then an invalid edit
    whose validation error quotes a secret, with the controller's own JSON logging configured."""
    planted, valued = _canaries("controller"), _value_secrets()
    app = tmp_path / "app"
    shutil.copytree(EXAMPLE, app, ignore=PLAIN)
    _plant(app, planted, valued)
    root = logging.getLogger()
    saved = (list(root.handlers), root.level)
    logs = io.StringIO()
    logging_json.configure(logging.DEBUG, stream=logs)
    try:
        controller = Controller(local_clients, ControllerConfig(source=str(app), workdir=str(tmp_path / "work")))
        assert controller.sync_once()
        documents = [json.dumps(controller.status.document())]
        web = app / "web.yaml"
        web.write_text(web.read_text().replace("  launchType: FARGATE", f"  launchType: {valued['stripe_key']}", 1))
        assert not controller.sync_once()
        documents.append(json.dumps(controller.status.document()))
        # An error raised while reconciling may quote anything: the status document masks it.
        controller.status.update(source_error=None, reconcile_error=f"ClientError: bad value postgres://app:{valued['url_password']}@db")
        logging.getLogger("reconciler.controller").error("apply failed", extra={
            "error": f"InvalidParameterException: {valued['stripe_key']}", "resource": "TaskDefinition/shop-web"})
        documents.append(json.dumps(controller.status.document()))
        metrics = generate_latest(controller.metrics.registry).decode()
        controller.stop()
    finally:
        for handler in list(root.handlers):
            root.removeHandler(handler)
        for handler in saved[0]:
            root.addHandler(handler)
        root.setLevel(saved[1])

    assert "spec.launchType" in documents[1] and "(sensitive value)" in documents[1]
    assert "postgres://app:(sensitive value)@db" in documents[2]
    lines = [json.loads(line) for line in logs.getvalue().splitlines()]
    assert any(line.get("error") == "InvalidParameterException: (sensitive value)" for line in lines), lines
    assert any("source error" in line["message"] for line in lines)
    everything = "\n".join(documents) + logs.getvalue() + metrics
    for value in [*planted.values(), *valued.values()]:
        assert value not in everything, value
