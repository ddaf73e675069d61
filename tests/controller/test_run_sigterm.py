"""`ecs-reconciler run` as a real process: SIGTERM mid-apply exits 0, and a second run converges."""

from __future__ import annotations

import json
import os
import queue
import shutil
import signal
import subprocess
import sys
import threading
import time
from pathlib import Path

from reconciler.desired.loader import load_manifests
from reconciler.engine import Engine
from tests.support.faultproxy import FaultProxy

ROOT = Path(__file__).resolve().parents[2]
CLI = str(Path(sys.executable).parent / "ecs-reconciler")


WRITES = {"CreateCluster", "RegisterTaskDefinition", "CreateService", "PutRule", "PutTargets", "TagResource"}


def start(endpoint_url: str, source: Path, *extra: str) -> subprocess.Popen:
    return subprocess.Popen(
        [CLI, "--endpoint-url", endpoint_url, "--region", "us-east-1", "run", "--source", str(source),
         "--listen", "127.0.0.1:0", "--poll-interval", "0.2", *extra],
        stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=dict(os.environ), cwd=ROOT)


def log_lines(proc: subprocess.Popen) -> "queue.Queue[dict]":
    lines: queue.Queue = queue.Queue()

    def pump() -> None:
        for line in proc.stderr:
            try:
                lines.put(json.loads(line))
            except ValueError:
                lines.put({"message": line.rstrip(), "unparsed": True})

    thread = threading.Thread(target=pump, daemon=True)
    thread.start()
    lines.reader = thread  # joined once the process exits, so no line is missed
    return lines


def next_matching(lines: "queue.Queue[dict]", predicate, timeout: float = 30.0) -> dict:
    deadline = time.monotonic() + timeout
    seen = []
    while time.monotonic() < deadline:
        try:
            record = lines.get(timeout=0.2)
        except queue.Empty:
            continue
        seen.append(record)
        if predicate(record):
            return record
    raise AssertionError(f"no matching log line; saw {seen[-10:]}")


def test_sigterm_during_apply_exits_zero_and_next_run_converges(local, local_clients, tmp_path):
    source = tmp_path / "manifests"
    shutil.copytree(ROOT / "manifests", source)
    # Every write takes 0.3 s, so the 7-resource apply is surely in flight when the signal lands.
    with FaultProxy(local.url, slow_rate=1.0, slow_seconds=0.3, only_operations=WRITES) as proxy:
        proc = start(proxy.url, source)
        try:
            lines = log_lines(proc)
            started = next_matching(lines, lambda r: r.get("message", "").startswith("apply create"))
            assert started["logger"] == "reconciler.controller" and started["revision"]
            proc.send_signal(signal.SIGTERM)
            assert proc.wait(timeout=60) == 0
        finally:
            if proc.poll() is None:
                proc.kill()
                proc.wait()
        lines.reader.join(10)
        records = []
        while not lines.empty():
            records.append(lines.get())
        messages = [r.get("message", "") for r in records]
        signalled = next(i for i, m in enumerate(messages) if m.startswith("signal received"))
        # The apply in flight went on to finish after the signal; nothing new started after it.
        assert "reconciled" in messages[signalled:]
        assert messages.count("reconciled") == 1
        assert messages[-1] == "controller stopped"
    assert all(not r.get("unparsed") for r in records), records  # every line is one JSON object
    assert "not-a-real-secret-local-demo-only" not in json.dumps(records)

    again = subprocess.run([CLI, "--endpoint-url", local.url, "--region", "us-east-1", "run", "--source", str(source),
                            "--once"], capture_output=True, text=True, env=dict(os.environ), cwd=ROOT, timeout=120)
    assert again.returncode == 0, again.stderr
    plan = Engine(local_clients).plan(load_manifests([str(source)]))
    assert not plan.has_changes, plan.summary()
