"""A live display of service rollouts while `apply --wait` follows them."""

from __future__ import annotations

from typing import Any

from rich.console import Console
from rich.live import Live
from rich.table import Table

from ..apply.wait import RolloutStatus


class RolloutProgress:
    def __init__(self) -> None:
        self.console = Console(stderr=True)
        self.live = Live(console=self.console, refresh_per_second=4, transient=False)

    def __enter__(self) -> "RolloutProgress":
        self.live.__enter__()
        return self

    def __exit__(self, *exc: Any) -> None:
        self.live.__exit__(*exc)

    def update(self, statuses: list[RolloutStatus]) -> None:
        table = Table(title="Rollouts", show_edge=False)
        for column in ("service", "rollout", "running/desired"):
            table.add_column(column)
        for s in sorted(statuses, key=lambda s: (s.cluster, s.name)):
            table.add_row(f"{s.cluster}/{s.name}", s.state, f"{s.running}/{s.desired}")
        self.live.update(table)
