"""`python -m benchmarks.run [--services N]`: run the fleet scenarios, print a table, write JSON."""

from __future__ import annotations

import argparse
import json
from pathlib import Path
from typing import Any

from rich.console import Console
from rich.table import Table

from .fleet import FleetShape
from .scenarios import run

DEFAULT_OUTPUT = Path(__file__).with_name("results.json")


def _ratio(value: float | None) -> str:
    return "-" if value is None else f"{value:.2f}x"


def _floor(value: float | None) -> str:
    return "-" if value is None else f"{value:.2f}"


def table(results: dict[str, Any]) -> Table:
    fleet = results["fleet"]
    t = Table(title=f"ecs-reconciler fleet benchmark: {fleet['clusters']} clusters, {fleet['services']} services, "
                    f"{fleet['scheduled_tasks']} scheduled tasks, {fleet['task_definition_families']} families")
    for column in ("scenario", "calls", "lower bound", "ours/lower", "per-resource", "ours/per-res.", "wall s",
                   "engine CPU s", "SDK floor s", "CPU/floor", "peak RSS MB",
                   "AWS min s ours", "AWS min s lower", "AWS min s per-res."):
        if column == "scenario":
            t.add_column(column, no_wrap=True)  # the names are what the JSON and the docs use: never cut
        else:
            t.add_column(column, justify="right")
    for r in results["scenarios"]:
        t.add_row(r["scenario"], str(r["calls_total"]), str(r["lower_bound"]), _ratio(r["ratio_to_lower_bound"]),
                  str(r["per_resource_reader"]), _ratio(r["ratio_to_per_resource"]), f"{r['wall_s']:.2f}",
                  f"{r['cpu_s']:.2f}", _floor(r.get("sdk_floor_cpu_s")), _ratio(r.get("cpu_to_sdk_floor")),
                  f"{r['peak_rss_mb']:.0f}", f"{r['projected_aws_s']:.1f}",
                  f"{r['projected_aws_lower_bound_s']:.1f}", f"{r['projected_aws_per_resource_s']:.1f}")
    return t


def calls_table(results: dict[str, Any]) -> Table:
    t = Table(title="API calls by operation")
    t.add_column("scenario")
    t.add_column("operation")
    t.add_column("calls", justify="right")
    t.add_column("lower bound", justify="right")
    for r in results["scenarios"]:
        ops = sorted(set(r["calls"]) | set(r["lower_bound_calls"]))
        for i, op in enumerate(ops):
            t.add_row(r["scenario"] if i == 0 else "", op, str(r["calls"].get(op, 0)), str(r["lower_bound_calls"].get(op, 0)))
    return t


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m benchmarks.run", description=__doc__)
    parser.add_argument("--services", type=int, default=1000, help="services (one family each; default 1000)")
    parser.add_argument("--clusters", type=int, default=5)
    parser.add_argument("--scheduled", type=int, default=None, help="scheduled tasks (default services / 5)")
    parser.add_argument("--output", type=Path, default=DEFAULT_OUTPUT, help="JSON results file")
    parser.add_argument("--repeats", type=int, default=3,
                        help="cold plan runs, each followed by its SDK-floor replay; the least-disturbed is reported")
    args = parser.parse_args(argv)
    scheduled = args.scheduled if args.scheduled is not None else args.services // 5
    shape = FleetShape(clusters=args.clusters, services=args.services, scheduled=scheduled)
    console = Console(width=200)
    console.print(f"Running scenarios on {shape} (local endpoint in a separate process)...")
    results = run(shape, repeats=args.repeats, on_result=lambda r: console.print(
        f"  {r['scenario']}: {r['calls_total']} calls, {r['wall_s']:.1f}s wall, {r['cpu_s']:.2f}s CPU"))
    console.print(table(results))
    console.print(calls_table(results))
    args.output.write_text(json.dumps(results, indent=2, sort_keys=True) + "\n")
    console.print(f"Results written to {args.output}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
