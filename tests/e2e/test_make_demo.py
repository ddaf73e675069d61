"""`make demo` runs `python -m reconciler.demo`: it must succeed and show the drift it is about."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent.parent


def test_demo_runs_every_step_and_shows_the_drift():
    result = subprocess.run([sys.executable, "-m", "reconciler.demo"], cwd=ROOT, capture_output=True, text=True,
                            timeout=300)
    out = result.stdout + result.stderr
    assert result.returncode == 0, out[-4000:]
    assert "Demo complete." in out
    for step in range(1, 9):
        assert f"== Step {step}:" in out
    assert 'spec.containerDefinitions[web].environment[LOG_LEVEL]: "debug" -> "info"' in out
    assert "spec.desiredCount: 4 -> 2" in out
    assert out.count("No changes. 8 resources in sync.") == 2
    assert "not-a-real-secret-local-demo-only" not in out
