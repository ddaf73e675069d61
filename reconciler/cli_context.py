"""What every command shares: the global options' context (clients, the embedded endpoint), loading
manifests, and turning errors into a message and exit code 1.

Its own module so that commands living beside their subject (export, verify, events) import it
without importing the `ecs-reconciler` group that imports them.
"""

from __future__ import annotations

import contextlib
import importlib
from dataclasses import dataclass, field
from typing import Any, Iterator

import click
from botocore.exceptions import BotoCoreError, ClientError

from .aws import AwsSettings, Clients
from .desired.loader import DesiredState, load_manifests
from .desired.lookups import Lookups
from .desired.substitution import Substitution
from .errors import InvalidManifests, ReconcileError
from .ownership import DEFAULT_INSTANCE
from .report.masking import mask_text


EXIT_OK, EXIT_ERROR, EXIT_CHANGES = 0, 1, 2


@dataclass
class Context:
    region: str | None = None
    endpoint_url: str | None = None
    local: bool = False
    instance: str = DEFAULT_INSTANCE
    stack: contextlib.ExitStack = field(default_factory=contextlib.ExitStack)

    def settings(self) -> AwsSettings:
        endpoint = self.endpoint_url
        if self.local:
            endpoint = self.start_local().url
        return AwsSettings(region=self.region or ("us-east-1" if self.local else None), endpoint_url=endpoint)

    def clients(self) -> Clients:
        return Clients(self.settings())

    def start_local(self) -> Any:
        require_local_extra()
        from .local import stable_ids
        from .local.server import LocalEndpoint

        if not hasattr(self, "_local"):
            stable_ids.install()
            self._local = self.stack.enter_context(LocalEndpoint(settle_seconds=1.0))
            click.echo(f"Started a local ECS endpoint at {self._local.url}", err=True)
        return self._local


def fail(message: str) -> None:
    click.echo(click.style("error: ", fg="red", bold=True) + mask_text(message), err=True)
    raise SystemExit(EXIT_ERROR)


def require_local_extra() -> None:
    """The embedded endpoint's moto and cheroot come only with the optional `local` extra: say so."""
    try:
        importlib.import_module("reconciler.local")
    except ModuleNotFoundError as exc:
        missing = (exc.name or "").split(".")[0]
        if missing == "reconciler":
            raise
        fail(f"the local endpoint needs the optional 'local' extra ({missing} is not installed): "
             "pip install 'ecs-reconciler[local]', or pipx install 'ecs-reconciler[local]'")


def load_or_fail(paths: tuple[str, ...], state: Context | None = None, tfstate: tuple[str, ...] = ()) -> DesiredState:
    """Load (kustomize rendering and `${...}` references included) or print every error and exit 1.
    AWS is read only for references that need it (ssm, cfn, a Terraform state in S3)."""
    clients = state.clients if state is not None else None
    try:
        desired = load_manifests(paths, Substitution(Lookups(clients, tfstate)))
    except InvalidManifests as exc:
        for error in exc.errors:
            click.echo(click.style("error: ", fg="red", bold=True) + mask_text(str(error)), err=True)
        click.echo(f"{len(exc.errors)} error(s); nothing was changed.", err=True)
        raise SystemExit(EXIT_ERROR)
    for warning in desired.warnings:
        click.echo(click.style("warning: ", fg="yellow", bold=True) + str(warning), err=True)
    return desired


@contextlib.contextmanager
def aws_errors() -> Iterator[None]:
    try:
        yield
    except ReconcileError as exc:
        fail(str(exc))
    except ClientError as exc:
        error = exc.response.get("Error", {})
        fail(f"AWS {exc.operation_name} failed: {error.get('Code')}: {error.get('Message')}")
    except BotoCoreError as exc:
        fail(f"AWS call failed: {exc}")
