"""The local endpoint in its own process, so this process's CPU time and RSS are the engine's alone."""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import time
import urllib.request

SERVE = ("import sys; from reconciler.local.server import serve; "
         "serve(port=int(sys.argv[1]), settle_seconds=float(sys.argv[2]), emit_events=True)")


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


class EndpointProcess:
    """`python -c serve(...)` on a free 127.0.0.1 port, with events on (the warm scenario needs them)."""

    def __init__(self, settle_seconds: float = 0.2):
        self.port = _free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self.settle_seconds = settle_seconds
        self.process: subprocess.Popen | None = None

    def start(self, timeout: float = 60.0) -> EndpointProcess:
        self.process = subprocess.Popen(
            [sys.executable, "-c", SERVE, str(self.port), str(self.settle_seconds)],
            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, env={**os.environ, "PYTHONUNBUFFERED": "1"},
        )
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                raise RuntimeError(f"local endpoint exited with {self.process.returncode}")
            try:
                # Seeding (default VPC, roles) is the last step before serve() settles: wait for the role.
                urllib.request.urlopen(f"{self.url}/moto-api/", timeout=2).read()
                if self._seeded():
                    return self
            except OSError:
                pass
            time.sleep(0.2)
        self.stop()
        raise RuntimeError("local endpoint did not start in time")

    def _seeded(self) -> bool:
        import boto3

        iam = boto3.client("iam", region_name="us-east-1", endpoint_url=self.url,
                           aws_access_key_id="local", aws_secret_access_key="local")
        try:
            iam.get_role(RoleName="ecsEventsRole")
            return True
        except Exception:
            return False

    def stop(self) -> None:
        if self.process and self.process.poll() is None:
            self.process.terminate()
            try:
                self.process.wait(timeout=10)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()
        self.process = None

    def __enter__(self) -> EndpointProcess:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()
