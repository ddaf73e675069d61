"""The task cpu/memory pair of a Fargate task definition is one Fargate offers (RegisterTaskDefinition
accepts others for EC2; a Fargate service then fails to place its tasks). The table is the one in
the ECS developer guide, "Task CPU and memory" (Fargate)."""

from __future__ import annotations

import re
from typing import Any

from .context import Context

GIB = 1024
# cpu units -> the memory (MiB) Fargate offers with it.
COMBINATIONS: dict[int, list[int]] = {
    256: [512, 1024, 2048],
    512: list(range(1 * GIB, 4 * GIB + 1, GIB)),
    1024: list(range(2 * GIB, 8 * GIB + 1, GIB)),
    2048: list(range(4 * GIB, 16 * GIB + 1, GIB)),
    4096: list(range(8 * GIB, 30 * GIB + 1, GIB)),
    8192: list(range(16 * GIB, 60 * GIB + 1, 4 * GIB)),
    16384: list(range(32 * GIB, 120 * GIB + 1, 8 * GIB)),
}
_UNIT = re.compile(r"^\s*(\d*\.?\d+)\s*(vcpu|gb|mb)?\s*$", re.IGNORECASE)


def units(value: Any) -> int | None:
    """'0.25 vCPU' -> 256 and '1GB' -> 1024; plain numbers are already units (cpu) or MiB (memory)."""
    match = _UNIT.match(str(value)) if value is not None else None
    if not match:
        return None
    number, unit = float(match.group(1)), (match.group(2) or "").lower()
    if unit in ("vcpu", "gb"):
        number *= 1024
    return int(round(number))


def check(ctx: Context) -> None:
    for item in ctx.items("TaskDefinition"):
        spec = ctx.spec(item)
        if "FARGATE" not in (spec.get("requiresCompatibilities") or []):
            continue
        cpu, memory = units(spec.get("cpu")), units(spec.get("memory"))
        if cpu is None or memory is None:
            missing = " and ".join(f for f, v in (("cpu", cpu), ("memory", memory)) if v is None)
            ctx.ng(item, ["spec", "cpu" if cpu is None else "memory"], f"a Fargate task definition needs task-level {missing}")
            continue
        offered = COMBINATIONS.get(cpu)
        if offered is None:
            ctx.ng(item, ["spec", "cpu"], f"cpu {cpu} is not a Fargate size (one of {', '.join(map(str, COMBINATIONS))})")
        elif memory not in offered:
            sizes = (", ".join(map(str, offered)) if len(offered) <= 4 else
                     f"{offered[0]} to {offered[-1]} in steps of {offered[1] - offered[0]}")
            ctx.ng(item, ["spec", "memory"], f"memory {memory} MiB does not go with cpu {cpu} on Fargate ({sizes} MiB)")
        else:
            ctx.ok(item, ["spec", "memory"], f"cpu {cpu} with memory {memory} MiB is a Fargate size")
