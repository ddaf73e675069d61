"""Container images in Amazon ECR exist with the tag or digest named. Images in other registries
(Docker Hub, ECR Public, GHCR, ...) are reported as not checked: there is no AWS API to ask."""

from __future__ import annotations

import re
from typing import Any

from botocore.exceptions import ClientError

from .context import Context, NotAllowed, error_code, error_text

ECR_IMAGE = re.compile(r"^(?P<account>\d{12})\.dkr\.ecr(?:-fips)?\.(?P<region>[a-z0-9-]+)\.amazonaws\.com(?:\.cn)?/"
                       r"(?P<repository>[^:@]+)(?::(?P<tag>[^@]+))?(?:@(?P<digest>sha256:[0-9a-f]{64}))?$")


def parse(image: str) -> dict[str, str] | None:
    match = ECR_IMAGE.match(image)
    return match.groupdict() if match else None


def check(ctx: Context) -> None:
    answers: dict[tuple[str, str, str, str], Any] = {}

    def lookup(ref: dict[str, str]) -> Any:
        image_id = {"imageDigest": ref["digest"]} if ref["digest"] else {"imageTag": ref["tag"] or "latest"}
        key = (ref["account"], ref["region"], ref["repository"], str(image_id))
        if key not in answers:
            try:
                found = ctx.call("ecr", "describe_images", region=ref["region"], registryId=ref["account"],
                                 repositoryName=ref["repository"], imageIds=[image_id])
                answers[key] = bool(found.get("imageDetails"))
            except NotAllowed as exc:
                answers[key] = exc
            except ClientError as exc:
                code = error_code(exc)
                answers[key] = ("repository" if code == "RepositoryNotFoundException"
                                else False if code == "ImageNotFoundException" else exc)
        return answers[key]

    for item in ctx.items("TaskDefinition"):
        for index, container in enumerate(ctx.spec(item).get("containerDefinitions") or []):
            image = container.get("image") or ""
            path = ["spec", "containerDefinitions", index, "image"]
            ref = parse(image)
            if ref is None:
                ctx.skip(item, path, f"{image}: not in Amazon ECR, not checked")
                continue
            answer = lookup(ref)
            what = f"{ref['repository']}@{ref['digest']}" if ref["digest"] else f"{ref['repository']}:{ref['tag'] or 'latest'}"
            if isinstance(answer, NotAllowed):
                ctx.unverified(item, path, f"image {what}: {answer}")
            elif isinstance(answer, Exception):
                ctx.unverified(item, path, f"image {what}: {error_text(answer)}")
            elif answer == "repository":
                ctx.ng(item, path, f"ECR repository {ref['repository']} does not exist in {ref['account']}/{ref['region']}")
            elif not answer:
                ctx.ng(item, path, f"image {what} not found in ECR")
            else:
                ctx.ok(item, path, f"image {what} exists in ECR")
