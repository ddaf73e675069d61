"""What every check needs: the manifests to check, located findings, and AWS reads that tell
"missing" from "not allowed to look"."""

from __future__ import annotations

from typing import Any, Iterable

from botocore.exceptions import BotoCoreError, ClientError

from ..aws import AwsSettings, Clients
from ..desired.loader import DesiredState, Located
from ..desired.positions import format_path
from .model import NG, OK, SKIP, UNVERIFIED, Check

# Error codes that mean "the caller may not make this call", across the services verify reads.
ACCESS_DENIED = {"AccessDenied", "AccessDeniedException", "UnauthorizedOperation", "UnauthorizedAccess",
                 "AuthorizationError", "NotAuthorized", "UnrecognizedClientException", "InvalidClientTokenId"}


class NotAllowed(Exception):
    """The caller lacks permission for `action`: the check is not verified (never a pass)."""

    def __init__(self, action: str, code: str):
        super().__init__(f"{action} denied ({code})")
        self.action, self.code = action, code


class Context:
    def __init__(self, desired: DesiredState, clients: Clients, keys: set[tuple[str, str]] | None = None):
        self.desired = desired
        self.clients = clients
        self.keys = keys
        self.checks: list[Check] = []
        self._regional: dict[str, Clients] = {}

    # -- what to check -----------------------------------------------------------------------------

    def items(self, kind: str) -> list[Located]:
        return [r for r in self.desired.of_kind(kind) if self.keys is None or r.key in self.keys]

    @staticmethod
    def spec(item: Located) -> dict[str, Any]:
        return item.manifest.spec.model_dump(by_alias=True, exclude_none=True, mode="json")

    # -- findings ----------------------------------------------------------------------------------

    def add(self, status: str, item: Located, path: Iterable[Any], message: str) -> None:
        path = list(path)
        self.checks.append(Check(status, item.file, item.line_of(path), item.label, format_path(path), message))

    def ok(self, item: Located, path: Iterable[Any], message: str) -> None:
        self.add(OK, item, path, message)

    def ng(self, item: Located, path: Iterable[Any], message: str) -> None:
        self.add(NG, item, path, message)

    def skip(self, item: Located, path: Iterable[Any], message: str) -> None:
        self.add(SKIP, item, path, message)

    def unverified(self, item: Located, path: Iterable[Any], message: str) -> None:
        self.add(UNVERIFIED, item, path, message)

    # -- AWS ---------------------------------------------------------------------------------------

    @property
    def region(self) -> str:
        return self.clients.region

    def client(self, service: str, region: str | None = None) -> Any:
        if not region or region == self.clients.region:
            return self.clients.client(service)
        if region not in self._regional:
            settings = self.clients.settings
            self._regional[region] = Clients(AwsSettings(region=region, endpoint_url=settings.endpoint_url,
                                                         profile=settings.profile, max_attempts=settings.max_attempts),
                                             self.clients.call_log, limiter=self.clients.limiter)
        return self._regional[region].client(service)

    def call(self, service: str, operation: str, region: str | None = None, **params: Any) -> Any:
        """One read; raises NotAllowed when the caller may not make it, ClientError otherwise."""
        client = self.client(service, region)
        try:
            return getattr(client, operation)(**params)
        except ClientError as exc:
            code = str(exc.response.get("Error", {}).get("Code", ""))
            if code in ACCESS_DENIED:
                action = f"{client.meta.service_model.signing_name}:{client.meta.method_to_api_mapping[operation]}"
                raise NotAllowed(action, code) from None
            raise


def error_code(exc: ClientError) -> str:
    return str(exc.response.get("Error", {}).get("Code", ""))


def error_text(exc: BaseException) -> str:
    if isinstance(exc, ClientError):
        error = exc.response.get("Error", {})
        return f"{error.get('Code')}: {error.get('Message')}"
    if isinstance(exc, BotoCoreError):
        return str(exc)
    return f"{type(exc).__name__}: {exc}"


__all__ = ["Context", "NotAllowed", "error_code", "error_text", "OK", "NG", "SKIP", "UNVERIFIED"]
