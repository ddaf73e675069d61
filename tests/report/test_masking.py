"""Masking by name and by value (detect-secrets' plugins): what is masked, what stays readable, and
that masking runs only on what is printed."""

from __future__ import annotations

import logging
from pathlib import Path

import pytest

from reconciler.desired.loader import load_manifests
from reconciler.engine import Engine
from reconciler.operator import status as operator_status
from reconciler.report import masking
from reconciler.report.masking import MASK, MaskingFilter, mask_at, mask_text, mask_tree, mask_value

EXAMPLE = Path(__file__).resolve().parents[2] / "manifests" / "base"

M = MASK


@pytest.mark.parametrize("text, expected", [
    ("postgres://app:Pw4x9Kq2mZ@db:5432/app", f"postgres://app:{M}@db:5432/app"),
    ("sk_live_4eC39HqLyjWDarjtT1zdp7dc", M),
    ("https://9f3c1e2d4b5a69788f7e6d5c4b3a2910@o450123.ingest.sentry.io/5566778", f"https://{M}@o450123.ingest.sentry.io/5566778"),
    ("--password=hunter2x", f"--password={M}"),
    ("AKIAIOSFODNN7EXAMPLE", M),
    ("Bearer eyJhbGciOiJIUzI1NiJ9.eyJzdWIiOiIxMjMifQ.c2lnbmF0dXJlLXBhcnQ", f"Bearer {M}"),
    ("ghp_1234567890abcdefghijklmnopqrstuvwxyzAB", M),
    ("token Zm9vYmFyYmF6cXV4MTIzNDU2Nzg5MGFiY2RlZmdoaWprbG1u end", f"token {M} end"),  # high entropy
])
def test_secrets_are_found_by_value(text, expected):
    assert mask_text(text) == expected


@pytest.mark.parametrize("text", [
    "public.ecr.aws/nginx/nginx:1.27",
    "123456789012.dkr.ecr.us-east-1.amazonaws.com/shop/web@sha256:e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855",
    "shop/web:3f2a9c1d8e7b6a5f4e3d2c1b0a9f8e7d6c5b4a39",  # a commit id as the image tag
    "arn:aws:ecs:us-east-1:123456789012:task-definition/shop-web:3",
    "arn:aws:secretsmanager:us-east-1:123456789012:secret:prod/db-AbCdEf",
    "550e8400-e29b-41d4-a716-446655440000",
    "subnet-0a1b2c3d4e5f67890",
    "ssh://git@github.com/org/deploy.git",
    "postgres://app@db:5432/app",
    "http://worker.shop.local:8080",
    "m.yaml:9: TaskDefinition/web: spec.containerDefinitions[0].secrets: required field is missing",
    "CMD-SHELL curl -f http://localhost/ || exit 1",
])
def test_what_a_plan_is_read_for_stays_readable(text):
    assert mask_text(text) == text


def test_masked_by_name_in_every_shape_a_plan_prints():
    assert mask_value("spec.containerDefinitions[web].environment[DB_PASSWORD]", "x") == M
    assert mask_value("spec.containerDefinitions[web].logConfiguration.options.apikey", "abc") == M
    assert mask_value("spec.containerDefinitions[web].logConfiguration.options[apikey]", "abc") == M
    assert mask_value("spec.containerDefinitions[web].command", ["app", "--password", "p", "--port", "80"]) == [
        "app", "--password", M, "--port", "80"]
    tree = {"environment": {"[DB_PASS]": "x", "[LOG_LEVEL]": "info"},
            "secrets": {"[DB_PASSWORD]": "arn:aws:ssm:us-east-1:123456789012:parameter/db"},
            "tags": [{"key": "api_key", "value": "v"}, {"key": "team", "value": "shop"}],
            "env": [{"name": "AUTH_TOKEN", "value": "t"}, {"name": "PORT", "value": "80"}],
            "dockerLabels": {"traefik.http.middlewares.auth.basicauth.users": "admin:$apr1$x", "app": "shop"},
            "repositoryCredentials": {"credentialsParameter": "arn:aws:secretsmanager:us-east-1:1:secret:r"}}
    assert mask_tree(tree) == {
        "environment": {"[DB_PASS]": M, "[LOG_LEVEL]": "info"},
        "secrets": {"[DB_PASSWORD]": "arn:aws:ssm:us-east-1:123456789012:parameter/db"},  # a reference, not a secret
        "tags": [{"key": "api_key", "value": M}, {"key": "team", "value": "shop"}],
        "env": [{"name": "AUTH_TOKEN", "value": M}, {"name": "PORT", "value": "80"}],
        "dockerLabels": {"traefik.http.middlewares.auth.basicauth.users": M, "app": "shop"},
        "repositoryCredentials": {"credentialsParameter": "arn:aws:secretsmanager:us-east-1:1:secret:r"}}


def test_a_validation_error_location_masks_what_it_would_quote():
    assert mask_at(("spec", "containerDefinitions", 0, "environment", 3, "value"), "anything") == M
    assert mask_at(("spec", "launchType"), "sk_live_4eC39HqLyjWDarjtT1zdp7dc") == M
    assert mask_at(("spec", "launchType"), "FARGATEE") == "FARGATEE"


def test_log_records_are_masked_in_message_arguments_and_extra_fields():
    record = logging.LogRecord("x", logging.ERROR, __file__, 1, "failed for %s", ("postgres://u:pw12345@db",), None)
    record.error = "InvalidParameter: sk_live_4eC39HqLyjWDarjtT1zdp7dc"
    record.keys = ["--password=abcdef123"]
    assert MaskingFilter().filter(record)
    assert record.getMessage() == f"failed for postgres://u:{M}@db"
    assert record.error == f"InvalidParameter: {M}" and record.keys == [f"--password={M}"]


def test_operator_conditions_mask_their_message():
    [_, _, stalled] = operator_status.stalled(None, 1, "AwsError", "bad value https://u:secretpw99@h")
    assert stalled["message"] == f"bad value https://u:{M}@h"


def test_masking_stays_out_of_planning(local_clients):
    """Planning makes no masking call; only rendering does (and caches what it masked)."""
    masking.mask_text.cache_clear()
    masking.is_sensitive.cache_clear()
    Engine(local_clients).plan(load_manifests([str(EXAMPLE)]))
    assert masking.mask_text.cache_info().currsize == 0 and masking.is_sensitive.cache_info().currsize == 0


def test_kopf_object_logs_are_masked_before_they_become_events():
    """kopf logs a handler's failure (a TemporaryError's message) on `kopf.objects`, whose handler
    posts it as a Kubernetes Event: the operator's settings mask those records first."""
    from reconciler.operator.command import operator_settings

    operator_settings()
    seen: list[str] = []
    handler = logging.Handler()
    handler.emit = lambda record: seen.append(record.getMessage())
    logger = logging.getLogger("kopf.objects")
    logger.addHandler(handler)
    try:
        logger.error("Handler 'reconcile' failed temporarily: %s", "bad value postgres://app:pw1234567@db")
    finally:
        logger.removeHandler(handler)
    assert seen == [f"Handler 'reconcile' failed temporarily: bad value postgres://app:{M}@db"]
