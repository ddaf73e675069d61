"""Coverage-guided fuzz targets (atheris/libFuzzer) for everything that parses outside input.

Run by tests/reliability/test_atheris_fuzz.py as `python fuzz_targets.py TARGET CORPUS -max_total_time=N`.
A target may reject its input, but only the way the program does for bad input; any other
exception is a crash that libFuzzer reports (and the test fails).
"""

from __future__ import annotations

import sys

import atheris

with atheris.instrument_imports():
    from reconciler.controller.webhook import parse_push, verify_signature
    from reconciler.desired.loader import load_text
    from reconciler.errors import InvalidManifests
    from reconciler.observed.events import parse_message


def manifests(data: bytes) -> None:
    text = data.decode("utf-8", errors="replace")
    try:
        load_text(text, "fuzz.yaml")
    except InvalidManifests as exc:
        assert exc.errors and all(str(e) for e in exc.errors)


def events(data: bytes) -> None:
    parse_message(data)  # never raises: malformed input is a Rejected value


def webhook(data: bytes) -> None:
    parse_push(data)
    verify_signature(b"secret", data, data[:80].decode("latin-1"))


TARGETS = {"manifests": manifests, "events": events, "webhook": webhook}

if __name__ == "__main__":
    target = TARGETS[sys.argv.pop(1)]
    atheris.Setup(sys.argv, target)
    atheris.Fuzz()
