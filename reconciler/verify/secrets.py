"""Secrets a task reads at start: every `secrets[].valueFrom` and `logConfiguration.secretOptions[]
.valueFrom` (an SSM parameter or a Secrets Manager secret) and every `repositoryCredentials`
secret exists. A missing one stops the task with ResourceInitializationError, after the deploy.
Nothing here reads a secret's value: SSM parameters are listed by name (GetParameters without
decryption, 10 at a time) and secrets described (DescribeSecret)."""

from __future__ import annotations

from typing import Any

from botocore.exceptions import ClientError

from .context import Context, NotAllowed, error_code, error_text

BATCH = 10  # GetParameters takes at most 10 names


def target(value_from: str, region: str) -> tuple[str, str, str]:
    """("ssm" | "secretsmanager", region, name or secret id) of a valueFrom."""
    parts = value_from.split(":")
    if value_from.startswith("arn:") and len(parts) >= 6:
        service, arn_region = parts[2], parts[3] or region
        if service == "secretsmanager":
            return "secretsmanager", arn_region, ":".join(parts[:7])
        if service == "ssm":
            resource = ":".join(parts[5:]).removeprefix("parameter")
            return "ssm", arn_region, resource if resource.count("/") > 1 else resource.lstrip("/")
        return service, arn_region, value_from
    return "ssm", region, value_from


def check(ctx: Context) -> None:
    wanted: list[tuple[Any, list[Any], str, str, str]] = []  # item, path, service, region, name
    for item in ctx.items("TaskDefinition"):
        spec = ctx.spec(item)
        for index, container in enumerate(spec.get("containerDefinitions") or []):
            base = ["spec", "containerDefinitions", index]
            for s_index, secret in enumerate(container.get("secrets") or []):
                if secret.get("valueFrom"):
                    wanted.append((item, base + ["secrets", s_index, "valueFrom"],
                                   *target(secret["valueFrom"], ctx.region)))
            for s_index, secret in enumerate((container.get("logConfiguration") or {}).get("secretOptions") or []):
                if secret.get("valueFrom"):
                    wanted.append((item, base + ["logConfiguration", "secretOptions", s_index, "valueFrom"],
                                   *target(secret["valueFrom"], ctx.region)))
            credentials = (container.get("repositoryCredentials") or {}).get("credentialsParameter")
            if credentials:
                service, region, name = target(credentials, ctx.region)
                if service == "ssm":  # repositoryCredentials always name a Secrets Manager secret
                    service = "secretsmanager"
                wanted.append((item, base + ["repositoryCredentials", "credentialsParameter"], service, region, name))

    answers = _parameters(ctx, {(r, n) for _, _, s, r, n in wanted if s == "ssm"})
    answers.update(_secrets(ctx, {(r, n) for _, _, s, r, n in wanted if s == "secretsmanager"}))
    for item, path, service, region, name in wanted:
        what = "SSM parameter" if service == "ssm" else "secret" if service == "secretsmanager" else service
        answer = answers.get((region, name), ValueError(f"{service} is neither SSM nor Secrets Manager"))
        if isinstance(answer, NotAllowed):
            ctx.unverified(item, path, f"{what} {name}: {answer}")
        elif isinstance(answer, Exception):
            ctx.unverified(item, path, f"{what} {name}: {error_text(answer)}")
        elif not answer:
            ctx.ng(item, path, f"{what} {name} does not exist")
        else:
            ctx.ok(item, path, f"{what} {name} exists")


def _parameters(ctx: Context, names: set[tuple[str, str]]) -> dict[tuple[str, str], Any]:
    answers: dict[tuple[str, str], Any] = {}
    by_region: dict[str, list[str]] = {}
    for region, name in sorted(names):
        by_region.setdefault(region, []).append(name)
    for region, listed in by_region.items():
        for start in range(0, len(listed), BATCH):
            batch = listed[start:start + BATCH]
            try:
                result = ctx.call("ssm", "get_parameters", region=region, Names=batch, WithDecryption=False)
                missing = set(result.get("InvalidParameters", []))
                for name in batch:
                    answers[(region, name)] = name not in missing
            except (NotAllowed, ClientError) as exc:
                for name in batch:
                    answers[(region, name)] = exc
    return answers


def _secrets(ctx: Context, ids: set[tuple[str, str]]) -> dict[tuple[str, str], Any]:
    answers: dict[tuple[str, str], Any] = {}
    for region, secret_id in sorted(ids):
        candidates = [secret_id]
        if secret_id.startswith("arn:"):  # an ARN without its random suffix: ask by name too
            candidates.append(secret_id.split(":", 6)[-1])
        answer: Any = False
        for candidate in candidates:
            try:
                ctx.call("secretsmanager", "describe_secret", region=region, SecretId=candidate)
                answer = True
                break
            except NotAllowed as exc:
                answer = exc
                break
            except ClientError as exc:
                if error_code(exc) != "ResourceNotFoundException":
                    answer = exc
                    break
        answers[(region, secret_id)] = answer
    return answers
