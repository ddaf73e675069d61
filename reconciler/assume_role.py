"""Credentials for a Target's role: sts:AssumeRole through botocore's own fetcher, refreshed before expiry.

botocore's `AssumeRoleCredentialFetcher` and `DeferredRefreshableCredentials` are what its
`role_arn` profiles use: the first call assumes the role, and any call made within botocore's
refresh window of the expiry (15 minutes advisory, 10 mandatory) assumes it again, under a lock,
before signing. We plug them into a session as its only credential provider, so every client the
session builds (and every thread using them) shares one refreshing set of credentials.
"""

from __future__ import annotations

from typing import Any

import boto3
import botocore.credentials
import botocore.exceptions


class _AssumedRole(botocore.credentials.CredentialProvider):
    METHOD = "assume-role"
    CANONICAL_NAME = "ecs-reconciler-target"

    def __init__(self, credentials: botocore.credentials.DeferredRefreshableCredentials):
        super().__init__()
        self._credentials = credentials

    def load(self) -> botocore.credentials.DeferredRefreshableCredentials:
        return self._credentials


def assumed_role_session(source: boto3.session.Session, role_arn: str, region: str, *,
                         external_id: str | None = None, session_name: str = "ecs-reconciler",
                         endpoint_url: str | None = None, duration_seconds: int | None = None) -> boto3.session.Session:
    """A boto3 session in `region` whose credentials are `role_arn` assumed with `source`'s credentials.
    STS calls go through `source` (so they are counted and rate-limited with the rest)."""
    source_credentials = source.get_credentials()
    if source_credentials is None:
        raise botocore.exceptions.NoCredentialsError()

    def sts_client(service: str, **credentials: Any) -> Any:
        return source.client(service, region_name=region, endpoint_url=endpoint_url, **credentials)

    extra_args: dict[str, Any] = {"RoleSessionName": session_name}
    if external_id:
        extra_args["ExternalId"] = external_id
    if duration_seconds:
        extra_args["DurationSeconds"] = duration_seconds
    fetcher = botocore.credentials.AssumeRoleCredentialFetcher(
        client_creator=sts_client, source_credentials=source_credentials, role_arn=role_arn, extra_args=extra_args,
        cache={},  # per session, in memory: never the shared ~/.aws/cli/cache
    )
    credentials = botocore.credentials.DeferredRefreshableCredentials(refresh_using=fetcher.fetch_credentials,
                                                                     method=_AssumedRole.METHOD)
    from .aws import new_session

    return new_session(botocore.credentials.CredentialResolver([_AssumedRole(credentials)]), region_name=region)
