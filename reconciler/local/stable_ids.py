"""Deterministic EC2 ids on the local endpoint.

moto gives the default VPC, its subnets and its security group random ids on every start, which
would make the example manifests (and anyone's local manifests) unusable across restarts. The
local endpoint numbers them instead: the default VPC's subnets are always subnet-00000000000000001
to subnet-00000000000000006 (us-east-1a to f) and its security group sg-00000000000000001.
"""

from __future__ import annotations

import itertools
import threading
from typing import Callable

_lock = threading.Lock()
_counters: dict[str, itertools.count] = {}
_installed = False


def _next(prefix: str) -> Callable[[], str]:
    def generate() -> str:
        with _lock:
            counter = _counters.setdefault(prefix, itertools.count(1))
            return f"{prefix}-{next(counter):017x}"
    return generate


def reset() -> None:
    """Restart numbering (call right after moto's own state reset)."""
    with _lock:
        _counters.clear()


def reset_ec2(account: str, region: str) -> None:
    """Reset one region's EC2 backend in place (other backends keep their reference to it), so its
    default VPC is created again with the first numbers."""
    from moto.ec2.models import ec2_backends

    existing = dict.get(ec2_backends, account)  # looking it up through [] would create it
    backend = dict.get(existing, region) if existing is not None else None
    if backend is not None:
        backend.reset()


def install() -> None:
    global _installed
    if _installed:
        return
    from moto.ec2.models import security_groups, subnets, vpcs

    subnets.random_subnet_id = _next("subnet")
    security_groups.random_security_group_id = _next("sg")
    vpcs.random_vpc_id = _next("vpc")
    _installed = True
