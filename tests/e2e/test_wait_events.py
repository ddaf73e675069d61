"""`apply --wait --events-queue`: rollouts followed through the event stream, failures explained."""

from __future__ import annotations

import json
import shutil
from pathlib import Path


def _setup_queue(run_cli) -> str:
    code, out, err, _ = run_cli("events", "setup")
    assert code == 0, err
    return json.loads(out)["queue_url"]


def test_wait_through_events_reaches_steady_state_with_few_describes(emitting, run_cli):
    queue = _setup_queue(run_cli)
    code, out, err, _ = run_cli("apply", "manifests", "--yes", "--wait", "--timeout", "30", "--events-queue", queue)
    assert code == 0, err
    assert "2 service(s) reached steady state" in out


def test_failed_deployment_reports_circuit_breaker_and_stopped_tasks(emitting, run_cli, tmp_path):
    queue = _setup_queue(run_cli)
    manifests = tmp_path / "m"
    shutil.copytree("manifests/base", manifests)
    web = manifests / "web.yaml"
    web.write_text(web.read_text().replace("public.ecr.aws/nginx/nginx:1.27", "example.com/web:fail-deploy"))
    code, out, err, _ = run_cli("apply", str(manifests), "--yes", "--wait", "--timeout", "30", "--events-queue", queue)
    assert code == 1
    assert "deployment failed: shop/shop-web: ECS deployment circuit breaker: tasks failed to start." in err
    assert "stopped: Essential container in task exited (web exit code 1)" in err


def test_failed_deployment_is_reported_by_polling_too(local, run_cli, tmp_path):
    manifests = tmp_path / "m"
    shutil.copytree("manifests/base", manifests)
    web = Path(manifests / "web.yaml")
    web.write_text(web.read_text().replace("public.ecr.aws/nginx/nginx:1.27", "example.com/web:fail-deploy"))
    code, out, err, _ = run_cli("apply", str(manifests), "--yes", "--wait", "--timeout", "30")
    assert code == 1
    assert "deployment failed: shop/shop-web: ECS deployment circuit breaker" in err
