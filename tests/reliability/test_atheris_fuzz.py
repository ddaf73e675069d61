"""Bounded coverage-guided fuzzing of the manifest loader, event parser and webhook parser."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent.parent
SECONDS = 10


def _seed(corpus: Path, target: str) -> None:
    corpus.mkdir()
    if target == "manifests":
        for path in (ROOT / "manifests" / "base").glob("*.yaml"):
            (corpus / path.name).write_bytes(path.read_bytes())
    elif target == "events":
        detail = {"eventName": "SERVICE_STEADY_STATE", "clusterArn": "arn:aws:ecs:us-east-1:1:cluster/c"}
        (corpus / "event").write_text(json.dumps({"id": "1", "detail-type": "ECS Service Action", "source": "aws.ecs",
                                                  "time": "2024-01-01T00:00:00Z", "detail": detail,
                                                  "resources": ["arn:aws:ecs:us-east-1:1:service/c/s"]}))
    else:
        (corpus / "push").write_text(json.dumps({"ref": "refs/heads/main", "after": "a" * 40}))


@pytest.mark.parametrize("target", ["manifests", "events", "webhook"])
def test_fuzzing_finds_no_crash(target, tmp_path):
    corpus = tmp_path / "corpus"
    _seed(corpus, target)
    result = subprocess.run(
        [sys.executable, str(HERE / "fuzz_targets.py"), target, str(corpus), f"-max_total_time={SECONDS}",
         "-rss_limit_mb=2048", "-timeout=10"],
        cwd=ROOT, capture_output=True, text=True, timeout=SECONDS + 120)
    assert result.returncode == 0, result.stderr[-4000:]
    executed = [line for line in result.stderr.splitlines() if line.startswith("Done ")]
    assert executed and int(executed[-1].split()[1]) > 100, result.stderr[-2000:]  # "Done N runs in S second(s)"
