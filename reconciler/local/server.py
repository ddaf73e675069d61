"""An embedded local AWS endpoint for ECS work: moto's server plus fidelity patches and a scheduler.

moto serves ECS, EC2, EventBridge, SQS, Application Auto Scaling, IAM and CloudWatch Logs on one
port. `LocalEndpoint` runs it in this process on 127.0.0.1, binds each request to itself so the
fidelity patches apply only here, seeds what a fresh account has (default VPC, the usual ECS roles)
and runs the scheduler that moves service tasks. `serve()` backs `ecs-reconciler local`.
"""

from __future__ import annotations

import json
import signal
import threading
import urllib.request
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import Any

import boto3
from moto.moto_server.werkzeug_app import DomainDispatcherApplication, create_backend_app

from reconciler.local import example_dependencies, fidelity, stable_ids
from reconciler.local.events import EventEmitter, api_call_event
from reconciler.local.http_server import KeepAliveServer
from reconciler.local.scheduler import Scheduler

ACCOUNT_ID = "123456789012"
# Role name -> service that assumes it. moto does not load AWS managed policies unless asked
# (MOTO_IAM_LOAD_MANAGED_POLICIES), so no policy is attached.
ROLES = {"ecsTaskExecutionRole": "ecs-tasks.amazonaws.com", "ecsEventsRole": "events.amazonaws.com"}
# Takes the parsed JSON body of a successful ECS response; returns the body to send (or None after
# changing it in place).
ResponseHook = Callable[[dict], "dict | None"]


def _bound_app(endpoint: LocalEndpoint) -> Any:
    """moto's WSGI app with each request bound to `endpoint`, so the fidelity patches apply only here."""
    app = DomainDispatcherApplication(create_backend_app)

    def bound_app(environ: dict, start_response: Any) -> Any:
        with fidelity.bind(endpoint):
            return list(app(environ, start_response))

    return bound_app


class LocalEndpoint:
    """Start, use and stop a local ECS endpoint; `reset()` between tests gives a fresh account."""

    def __init__(
        self,
        host: str = "127.0.0.1",
        port: int = 0,
        region: str = "us-east-1",
        settle_seconds: float = 1.0,
        emit_events: bool = False,
        duplicate_rate: float = 0.0,
        reorder_seconds: float = 0.0,
    ):
        self.host, self.port, self.region = host, port, region
        self.scheduler = Scheduler(owner=self, settle_seconds=settle_seconds)
        self.emit_events = emit_events
        self.duplicate_rate, self.reorder_seconds = duplicate_rate, reorder_seconds
        self.emitter: EventEmitter | None = None
        self._server: KeepAliveServer | None = None
        self._network: dict[str, Any] = {}
        self._roles: dict[str, str] = {}
        self._response_hooks: dict[str, list[ResponseHook]] = {}
        self._hooks_lock = threading.Lock()

    @property
    def url(self) -> str:
        if self._server is None:
            raise RuntimeError("LocalEndpoint is not started")
        host, port = self._server.host_and_port()
        return f"http://{host}:{port}"

    def start(self) -> LocalEndpoint:
        fidelity.install()
        stable_ids.install()
        self._server = KeepAliveServer(_bound_app(self), self.host, self.port).start()
        if self.emit_events:
            self.emitter = EventEmitter(self.url, self.duplicate_rate, self.reorder_seconds)
            self.emitter.start()
            self.scheduler.add_listener(self.emitter)
        stable_ids.reset()
        self.seed()
        self.scheduler.start()
        return self

    def stop(self) -> None:
        self.scheduler.stop()
        if self.emitter:
            self.emitter.stop()
            self.scheduler.remove_listener(self.emitter)
            self.emitter = None
        if self._server:
            self._server.stop()
            self._server = None

    def __enter__(self) -> LocalEndpoint:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()

    def reset(self) -> None:
        """Wipe all state (every service moto serves in this process) and seed again."""
        with fidelity.LOCK:
            if self.emitter:
                self.emitter.flush(timeout=2)
                self.emitter.clear()
            request = urllib.request.Request(f"{self.url}/moto-api/reset", method="POST")
            urllib.request.urlopen(request, timeout=30).read()
            stable_ids.reset()  # after moto's reset, which itself may create a default VPC elsewhere
            # Resetting a backend that holds this region's EC2 backend (Auto Scaling does) recreates
            # its default VPC during moto's reset, with ids numbered on from before: recreate it once more.
            stable_ids.reset_ec2(ACCOUNT_ID, self.region)
            self.scheduler.clear()
        self.seed()

    def client(self, service: str) -> Any:
        return boto3.client(
            service,
            region_name=self.region,
            endpoint_url=self.url,
            aws_access_key_id="local",
            aws_secret_access_key="local",
        )

    def seed(self) -> None:
        """Make sure the account has a default VPC with subnets and security group, and the ECS roles."""
        ec2 = self.client("ec2")
        vpcs = ec2.describe_vpcs(Filters=[{"Name": "is-default", "Values": ["true"]}])["Vpcs"]
        vpc_id = vpcs[0]["VpcId"] if vpcs else ec2.create_default_vpc()["Vpc"]["VpcId"]
        subnets = ec2.describe_subnets(Filters=[{"Name": "vpc-id", "Values": [vpc_id]}])["Subnets"]
        groups = ec2.describe_security_groups(
            Filters=[{"Name": "vpc-id", "Values": [vpc_id]}, {"Name": "group-name", "Values": ["default"]}]
        )["SecurityGroups"]
        self._network = {
            "vpcId": vpc_id,
            "subnets": sorted(s["SubnetId"] for s in subnets),
            "securityGroups": [g["GroupId"] for g in groups],
        }
        iam = self.client("iam")
        for name, principal in ROLES.items():
            try:
                role = iam.get_role(RoleName=name)["Role"]
            except iam.exceptions.NoSuchEntityException:
                trust = {
                    "Version": "2012-10-17",
                    "Statement": [{"Effect": "Allow", "Principal": {"Service": principal}, "Action": "sts:AssumeRole"}],
                }
                role = iam.create_role(RoleName=name, AssumeRolePolicyDocument=json.dumps(trust))["Role"]
            self._roles[name] = role["Arn"]
        example_dependencies.seed(self.client)

    def network(self) -> dict[str, Any]:
        """{"vpcId", "subnets": [...], "securityGroups": [...]} of the seeded default VPC."""
        return {k: list(v) if isinstance(v, list) else v for k, v in self._network.items()}

    def roles(self) -> dict[str, str]:
        """Role name -> ARN for the seeded ecsTaskExecutionRole and ecsEventsRole."""
        return dict(self._roles)

    def env(self) -> dict[str, str]:
        """Environment variables that point AWS SDKs and the CLI at this endpoint."""
        return {
            "AWS_ENDPOINT_URL": self.url,
            "AWS_REGION": self.region,
            "AWS_DEFAULT_REGION": self.region,
            "AWS_ACCESS_KEY_ID": "local",
            "AWS_SECRET_ACCESS_KEY": "local",
        }

    def add_listener(self, listener: Any) -> None:
        self.scheduler.add_listener(listener)

    def add_response_hook(self, operation: str, hook: ResponseHook) -> None:
        """Rewrite the JSON body of every successful ECS `operation` (e.g. "DescribeServices") served here.

        For tests that need the endpoint to answer something the engine does not expect (a new
        server-side default, say). Only this endpoint's responses are touched.
        """
        with self._hooks_lock:
            self._response_hooks.setdefault(operation, []).append(hook)

    def remove_response_hook(self, operation: str, hook: ResponseHook) -> None:
        with self._hooks_lock:
            hooks = self._response_hooks.get(operation, [])
            hooks.remove(hook)
            if not hooks:
                self._response_hooks.pop(operation, None)

    @contextmanager
    def response_hook(self, operation: str, hook: ResponseHook) -> Iterator[None]:
        """`add_response_hook` for the duration of a `with` block."""
        self.add_response_hook(operation, hook)
        try:
            yield
        finally:
            self.remove_response_hook(operation, hook)

    def has_response_hooks(self, operation: str) -> bool:
        return operation in self._response_hooks

    def rewrite_response(self, operation: str, body: Any) -> Any:
        """Run the hooks for `operation` over a response body (called by the fidelity layer)."""
        with self._hooks_lock:
            hooks = list(self._response_hooks.get(operation, []))
        if not hooks:
            return body
        document = json.loads(body) if body else {}
        for hook in hooks:
            changed = hook(document)
            document = document if changed is None else changed
        return json.dumps(document)

    def on_api_call(self, action: str, params: dict, response: Any, region: str, account: str,
                    access_key: str = "local", user_agent: str = "", event_source: str = "ecs.amazonaws.com") -> None:
        """Called by the fidelity layer after each successful write call (ECS, EventBridge, Application
        Auto Scaling, Scheduler); the caller is named after the access key id it signed with (an IAM
        user of that name)."""
        if self.scheduler.has_listeners():
            self.scheduler.publish(api_call_event(action, params, response, account, region, access_key=access_key,
                                                  user_agent=user_agent, event_source=event_source))


def serve(host: str = "127.0.0.1", port: int = 4566, settle_seconds: float = 1.0, emit_events: bool = True) -> None:
    """Run a local endpoint until SIGINT or SIGTERM, printing how to point tools at it."""
    done = threading.Event()
    with LocalEndpoint(host, port, settle_seconds=settle_seconds, emit_events=emit_events) as endpoint:
        print(f"Local ECS endpoint listening on {endpoint.url} (account {ACCOUNT_ID}, region {endpoint.region})")
        print("Point tools at it with:")
        for name, value in endpoint.env().items():
            print(f"  export {name}={value}")
        net = endpoint.network()
        print(f"Default VPC {net['vpcId']}: subnets {', '.join(net['subnets'])}; security group {', '.join(net['securityGroups'])}")
        print("Press Ctrl-C to stop.", flush=True)
        previous = {sig: signal.signal(sig, lambda *_: done.set()) for sig in (signal.SIGINT, signal.SIGTERM)}
        try:
            while not done.wait(0.5):
                pass
        finally:
            for sig, handler in previous.items():
                signal.signal(sig, handler)
