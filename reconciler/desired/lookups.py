"""Where `${kind:...}` values come from: the environment, SSM Parameter Store, CloudFormation, Terraform state.

Every lookup is made once and kept (`ttl` seconds; forever when None, as in one CLI run), misses
too, so a run asks AWS once per distinct reference and the controller once per resync period.
Nothing here writes, and no value is logged: SSM SecureStrings are refused outright, since a secret
belongs in `secrets[].valueFrom`, where ECS reads it at task start and it never enters a manifest.
"""

from __future__ import annotations

import fnmatch
import os
import threading
import time
from dataclasses import dataclass
from typing import Any, Callable

from botocore.exceptions import BotoCoreError, ClientError

from ..report.masking import is_sensitive
from .tfstate import TfState, TfStateError

KINDS = ("env", "ssm", "cfn", "cfn-export", "tfstate")
# The process's own credentials and settings: never substituted into a manifest.
CREDENTIAL_PREFIXES = ("AWS_", "ECS_RECONCILER_", "GITHUB_", "GIT_", "SSH_", "KUBERNETES_")
# What each kind of reference needs to read (for `iam-policy`).
READ_ACTIONS = {
    "ssm": ["ssm:GetParameter"],
    "cfn": ["cloudformation:DescribeStacks"],
    "cfn-export": ["cloudformation:ListExports"],
    "tfstate-s3": ["s3:GetObject"],
}


class Unresolved(Exception):
    """A reference that cannot be resolved; the message names what is missing (never a value)."""


@dataclass(frozen=True)
class Resolved:
    value: Any
    source: str  # where it came from, for `plan --show-origins`


class Lookups:
    """Resolves references, caching each answer (or miss) for `ttl` seconds."""

    def __init__(self, clients: Callable[[], Any] | None = None, tfstate: tuple[str, ...] | list[str] = (),
                 ttl: float | None = None, environ: dict[str, str] | None = None,
                 clock: Callable[[], float] = time.monotonic, allow_env: tuple[str, ...] | None = None):
        """`allow_env`: glob patterns of the environment variables manifests may read (None: any
        that does not look like a credential; the controller, which applies what anyone with push
        access writes, passes only what `--allow-env` names)."""
        self._clients_factory = clients
        self.allow_env = allow_env
        self._clients: Any = None
        self.tfstate_locations = tuple(tfstate)
        self.ttl = ttl
        self._environ = environ
        self._clock = clock
        self._cache: dict[tuple[str, str], tuple[float, Resolved | Unresolved]] = {}
        self._lock = threading.RLock()
        self.calls = 0  # AWS reads made (for tests and the controller's logs)

    # -- public ------------------------------------------------------------------------------------

    def resolve(self, kind: str, body: str) -> Resolved:
        if kind == "env":
            return self._env(body)
        key = (kind, body)
        with self._lock:
            hit = self._cache.get(key)
            if hit is None or (self.ttl is not None and self._clock() >= hit[0]):
                try:
                    answer: Resolved | Unresolved = self._lookup(kind, body)
                except Unresolved as exc:
                    answer = exc
                hit = (self._clock() + (self.ttl or 0), answer)
                self._cache[key] = hit
        if isinstance(hit[1], Unresolved):
            raise hit[1]
        return hit[1]

    def expire(self) -> None:
        """Forget every answer (the next resolve asks again)."""
        with self._lock:
            self._cache.clear()

    # -- kinds -------------------------------------------------------------------------------------

    def _lookup(self, kind: str, body: str) -> Resolved:
        if kind == "ssm":
            return self._ssm(body)
        if kind == "cfn":
            return self._cfn(body)
        if kind == "cfn-export":
            return self._cfn_export(body)
        if kind == "tfstate":
            return self._tfstate(body)
        raise Unresolved(f"unknown reference kind {kind!r}; expected one of {', '.join(KINDS)}")

    def _env(self, body: str) -> Resolved:
        name, has_default, default = body.partition(":-")
        if not name or not name.replace("_", "a").isalnum() or name[0].isdigit():
            raise Unresolved(f"{name!r} is not an environment variable name")
        if name.upper().startswith(CREDENTIAL_PREFIXES) or is_sensitive(name):
            raise Unresolved(f"environment variable {name} may hold a credential and is not available to manifests "
                             "(put secrets in secrets[].valueFrom)")
        if self.allow_env is not None and not any(fnmatch.fnmatchcase(name, p) for p in self.allow_env):
            allowed = ", ".join(self.allow_env) or "none"
            raise Unresolved(f"environment variable {name} is not one manifests may read here (--allow-env: {allowed})")
        environ = self._environ if self._environ is not None else os.environ
        value = environ.get(name)
        if value is None or (has_default and value == ""):
            if has_default:
                return Resolved(default, f"environment variable {name} (unset: the default)")
            raise Unresolved(f"environment variable {name} is not set (give a default with ${{env:{name}:-value}})")
        return Resolved(value, f"environment variable {name}")

    def _ssm(self, name: str) -> Resolved:
        if not name:
            raise Unresolved("no parameter name")
        try:
            parameter = self._call("ssm", "get_parameter", Name=name)["Parameter"]
        except ClientError as exc:
            if _code(exc) in ("ParameterNotFound", "ParameterVersionNotFound"):
                raise Unresolved(f"SSM parameter {name} not found") from None
            raise _aws_failure(exc, f"SSM parameter {name}") from None
        if parameter.get("Type") == "SecureString":
            raise Unresolved(f"SSM parameter {name} is a SecureString: a secret does not belong in a manifest; "
                               "reference it in containerDefinitions[].secrets[].valueFrom, where ECS reads it")
        return Resolved(parameter.get("Value", ""), f"SSM parameter {parameter.get('Name', name)} "
                                                    f"(version {parameter.get('Version', '?')})")

    def _cfn(self, body: str) -> Resolved:
        stack, sep, key = body.partition("/")
        if not sep or not stack or not key:
            raise Unresolved("expected ${cfn:STACK/OutputKey}")
        outputs = self._stack_outputs(stack)
        if key not in outputs:
            known = ", ".join(sorted(outputs)) or "none"
            raise Unresolved(f"CloudFormation stack {stack} has no output {key} (its outputs: {known})")
        return Resolved(outputs[key], f"CloudFormation stack {stack}, output {key}")

    def _stack_outputs(self, stack: str) -> dict[str, str]:
        with self._lock:
            hit = self._cache.get(("cfn-stack", stack))
            if hit is not None and (self.ttl is None or self._clock() < hit[0]):
                if isinstance(hit[1], Unresolved):
                    raise hit[1]
                return hit[1].value
            try:
                stacks = self._call("cloudformation", "describe_stacks", StackName=stack)["Stacks"]
                outputs = {o["OutputKey"]: o.get("OutputValue", "") for o in (stacks[0].get("Outputs") or [])}
                answer: Any = Resolved(outputs, stack)
            except ClientError as exc:
                if _code(exc) == "ValidationError" and "does not exist" in str(exc):
                    answer = Unresolved(f"CloudFormation stack {stack} does not exist")
                else:
                    answer = _aws_failure(exc, f"CloudFormation stack {stack}")
            self._cache[("cfn-stack", stack)] = (self._clock() + (self.ttl or 0), answer)
        if isinstance(answer, Unresolved):
            raise answer
        return answer.value

    def _cfn_export(self, name: str) -> Resolved:
        with self._lock:
            hit = self._cache.get(("cfn-exports", ""))
            if hit is None or (self.ttl is not None and self._clock() >= hit[0]):
                exports: dict[str, tuple[str, str]] = {}
                try:
                    token = None
                    while True:
                        page = self._call("cloudformation", "list_exports", **({"NextToken": token} if token else {}))
                        for export in page.get("Exports", []):
                            exports[export["Name"]] = (export.get("Value", ""), export.get("ExportingStackId", ""))
                        token = page.get("NextToken")
                        if not token:
                            break
                except ClientError as exc:
                    raise _aws_failure(exc, "CloudFormation exports") from None
                hit = (self._clock() + (self.ttl or 0), Resolved(exports, "exports"))
                self._cache[("cfn-exports", "")] = hit
            exports = hit[1].value
        if name not in exports:
            raise Unresolved(f"no CloudFormation export named {name}")
        value, stack = exports[name]
        stack_name = stack.split("/")[1] if stack.count("/") >= 2 else stack
        return Resolved(value, f"CloudFormation export {name} (stack {stack_name})")

    def _tfstate(self, address: str) -> Resolved:
        if not self.tfstate_locations:
            raise Unresolved("no Terraform state given: pass --tfstate FILE or --tfstate s3://bucket/key")
        misses = []
        for location in self.tfstate_locations:
            state = self._state(location)
            try:
                return Resolved(state.lookup(address), f"Terraform state {location}: {address}")
            except TfStateError as exc:
                misses.append(str(exc))
        raise Unresolved("; ".join(misses))

    def _state(self, location: str) -> TfState:
        with self._lock:
            hit = self._cache.get(("tfstate-file", location))
            if hit is None or (self.ttl is not None and self._clock() >= hit[0]):
                try:
                    answer: Any = Resolved(TfState.from_text(self._read_state(location), location), location)
                except (TfStateError, Unresolved) as exc:
                    answer = Unresolved(str(exc))
                hit = (self._clock() + (self.ttl or 0), answer)
                self._cache[("tfstate-file", location)] = hit
        if isinstance(hit[1], Unresolved):
            raise hit[1]
        return hit[1].value

    def _read_state(self, location: str) -> bytes:
        if location.startswith("s3://"):
            bucket, _, key = location[len("s3://"):].partition("/")
            if not bucket or not key:
                raise Unresolved(f"{location}: expected s3://bucket/key")
            try:
                return self._call("s3", "get_object", Bucket=bucket, Key=key)["Body"].read()
            except ClientError as exc:
                if _code(exc) in ("NoSuchKey", "NoSuchBucket", "404"):
                    raise Unresolved(f"Terraform state {location} not found") from None
                raise _aws_failure(exc, f"Terraform state {location}") from None
        try:
            with open(location, "rb") as handle:
                return handle.read()
        except OSError as exc:
            raise Unresolved(f"cannot read Terraform state {location}: {exc.strerror}") from None

    # -- AWS ---------------------------------------------------------------------------------------

    def _call(self, service: str, operation: str, **params: Any) -> Any:
        if self._clients_factory is None:
            raise Unresolved(f"needs AWS ({service}), which this command does not read")
        if self._clients is None:
            self._clients = self._clients_factory()
        self.calls += 1
        try:
            return getattr(self._clients.client(service), operation)(**params)
        except BotoCoreError as exc:
            raise Unresolved(f"AWS call failed: {exc}") from None


def _code(exc: ClientError) -> str:
    return str(exc.response.get("Error", {}).get("Code", ""))


def _aws_failure(exc: ClientError, what: str) -> Unresolved:
    error = exc.response.get("Error", {})
    return Unresolved(f"cannot read {what}: {error.get('Code')}: {error.get('Message')}")
