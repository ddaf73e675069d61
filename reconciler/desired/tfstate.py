"""Read values out of a Terraform state (format version 4), the way `terraform state show` names them.

An address is `output.NAME` or a resource address with an attribute path:
`aws_lb_target_group.web.arn`, `data.aws_vpc.main.id`, `module.vpc.aws_subnet.private[0].id`,
`module.net["eu"].aws_subnet.this["a"].id`, `output.subnets[1]`. Nothing is written; the state is
read from a file or from S3 (`s3://bucket/key`, where the S3 backend keeps it).
"""

from __future__ import annotations

import json
import re
from typing import Any

_TOKEN = re.compile(r'\.?([A-Za-z_][A-Za-z0-9_-]*)|\[(\d+|"(?:[^"\\]|\\.)*")\]')


class TfStateError(Exception):
    """The state cannot be read or has no such address; the message says which."""


class Key(str):
    """An instance key written in brackets (`["a"]`), as opposed to an attribute name (`.a`)."""


def parse_address(address: str) -> list[str | int]:
    """'module.vpc.aws_subnet.private[0].id' -> ['module', 'vpc', 'aws_subnet', 'private', 0, 'id'];
    a bracketed string comes back as a `Key`."""
    tokens: list[str | int] = []
    pos = 0
    while pos < len(address):
        match = _TOKEN.match(address, pos)
        if match is None or (pos == 0 and address.startswith(".")):
            raise TfStateError(f"cannot read address {address!r} at {address[pos:]!r}")
        name, index = match.groups()
        if name is not None:
            tokens.append(name)
        elif index.startswith('"'):
            tokens.append(Key(json.loads(index)))
        else:
            tokens.append(int(index))
        pos = match.end()
    if not tokens:
        raise TfStateError("empty address")
    return tokens


class TfState:
    """One state document; `lookup(address)` returns the JSON value at that address."""

    def __init__(self, document: Any, location: str):
        self.location = location
        if not isinstance(document, dict) or document.get("version") != 4:
            found = document.get("version") if isinstance(document, dict) else type(document).__name__
            raise TfStateError(f"{location}: expected a Terraform state of format version 4, got version {found!r}")
        self.outputs = document.get("outputs") or {}
        self.resources = document.get("resources") or []

    @classmethod
    def from_text(cls, text: str | bytes, location: str) -> "TfState":
        try:
            return cls(json.loads(text), location)
        except ValueError as exc:
            raise TfStateError(f"{location}: not a Terraform state (invalid JSON: {exc})") from None

    def lookup(self, address: str) -> Any:
        tokens = parse_address(address)
        if tokens[0] == "output":
            if len(tokens) < 2 or not isinstance(tokens[1], str):
                raise TfStateError("an output address is output.NAME")
            if tokens[1] not in self.outputs:
                raise TfStateError(f"no output {tokens[1]!r} in {self.location}")
            return _walk(self.outputs[tokens[1]].get("value"), tokens[2:], address)
        module, rest = _module_path(tokens)
        mode = "managed"
        if rest and rest[0] == "data":
            mode, rest = "data", rest[1:]
        if len(rest) < 2 or not all(isinstance(t, str) for t in rest[:2]):
            raise TfStateError(f"{address!r} is not a resource address (TYPE.NAME.attribute) nor output.NAME")
        rtype, name, rest = rest[0], rest[1], rest[2:]
        resource = next((r for r in self.resources if r.get("mode", "managed") == mode and r.get("type") == rtype
                         and r.get("name") == name and r.get("module", "") == module), None)
        label = f"{module + '.' if module else ''}{'data.' if mode == 'data' else ''}{rtype}.{name}"
        if resource is None:
            raise TfStateError(f"no resource {label} in {self.location}")
        instances = resource.get("instances") or []
        key = rest[0] if rest and isinstance(rest[0], (int, Key)) else None
        if key is not None:
            rest = rest[1:]
            instance = next((i for i in instances if i.get("index_key") == key
                             and isinstance(i.get("index_key"), int) == isinstance(key, int)), None)
            if instance is None:
                raise TfStateError(f"{label} has no instance [{json.dumps(key)}]")
        elif len(instances) == 1 and "index_key" not in instances[0]:
            instance = instances[0]
        elif not instances:
            raise TfStateError(f"{label} has no instances")
        else:
            keys = ", ".join(f"[{json.dumps(i.get('index_key'))}]" for i in instances)
            raise TfStateError(f"{label} has several instances ({keys}): name one")
        if not rest:
            raise TfStateError(f"{address!r} names a resource; add the attribute, e.g. {address}.id")
        return _walk(instance.get("attributes") or {}, rest, address)


def _module_path(tokens: list[str | int]) -> tuple[str, list[str | int]]:
    parts = []
    while len(tokens) >= 2 and tokens[0] == "module" and isinstance(tokens[1], str):
        part = f"module.{tokens[1]}"
        tokens = tokens[2:]
        if tokens and isinstance(tokens[0], (int, Key)):
            part += f"[{json.dumps(tokens[0] if isinstance(tokens[0], int) else str(tokens[0]))}]"
            tokens = tokens[1:]
        parts.append(part)
    return ".".join(parts), tokens


def _walk(value: Any, path: list[str | int], address: str) -> Any:
    for part in path:
        if isinstance(value, dict) and isinstance(part, str) and part in value:
            value = value[part]
        elif isinstance(value, list) and isinstance(part, int) and 0 <= part < len(value):
            value = value[part]
        else:
            raise TfStateError(f"{address!r}: no {part!r} there")
    return value
