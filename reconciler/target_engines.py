"""Many targets from one process: one `Engine` per target, run in parallel, results grouped by target.

This is a thin layer over the single-target engine: each target (desired/targeting.py) gets its own
`Clients` (credentials from its assumed role, its Region, its own token buckets, since ECS throttles
per account and Region) and its own Engine over its own part of the manifests. Nothing below this
module knows about targets. Targets run on a thread pool, so a cold plan over N targets takes about
as long as the slowest one; a target that fails (AccessDenied, a Region outage) is reported on that
target and never stops the others.
"""

from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from typing import Callable

from botocore.exceptions import BotoCoreError, ClientError

from .apply.executor import ApplyResult
from .aws import AwsSettings, CallLog, Clients
from .desired.state import DesiredState
from .desired.target import TargetManifest
from .engine import Engine, EngineOptions
from .errors import ReconcileError
from .observed.revisions import RevisionCache
from .plan.model import Plan
from .report.masking import mask_text

AMBIENT = "(ambient)"  # how reports name the part that lives in no Target
MAX_PARALLEL_TARGETS = 16


def target_settings(base: AwsSettings, target: TargetManifest | None) -> AwsSettings:
    """The settings of a target's clients: its Region and role, the process's endpoint and profile."""
    if target is None:
        return base
    return AwsSettings(region=target.spec.region or base.resolved_region(), endpoint_url=base.endpoint_url,
                       profile=base.profile, max_attempts=base.max_attempts, role_arn=target.spec.roleArn,
                       external_id=target.spec.externalId, session_name=target.spec.sessionName)


def describe_error(exc: BaseException) -> str:
    if isinstance(exc, ClientError):
        error = exc.response.get("Error", {})
        return mask_text(f"AWS {exc.operation_name} failed: {error.get('Code')}: {error.get('Message')}")
    return mask_text(str(exc) or type(exc).__name__)


@dataclass
class TargetRun:
    """One target's part of a plan or apply: its plan, what was applied, or why it failed."""

    name: str | None  # None: the ambient credentials and Region
    region: str
    account: str | None  # None: the ambient account
    desired: DesiredState
    plan: Plan | None = None
    applied: ApplyResult | None = None
    rollouts: list = field(default_factory=list)  # RolloutStatus of the services `apply --wait` followed
    error: str | None = None

    @property
    def label(self) -> str:
        return self.name or AMBIENT

    @property
    def heading(self) -> str:
        return f"Target {self.label} ({self.region}, account {self.account or 'ambient'})"


@dataclass
class TargetEngines:
    """One Engine per target of `desired`; `plan` and `apply` run every target in parallel."""

    desired: DesiredState
    settings: AwsSettings = field(default_factory=AwsSettings)
    options: EngineOptions = field(default_factory=EngineOptions)
    call_log_for: Callable[[str | None], CallLog | None] = lambda name: None  # None: the process log
    cache_dir: str | None = None

    def __post_init__(self) -> None:
        self.engines: dict[str | None, Engine] = {}
        self.runs: list[TargetRun] = []
        for name, part in self.desired.by_target().items():
            target = part.targets[name].manifest if name is not None else None
            settings = target_settings(self.settings, target)
            clients = Clients(settings, self.call_log_for(name))
            self.engines[name] = Engine(clients, self.options, RevisionCache(self.cache_dir))
            self.runs.append(TargetRun(name, settings.resolved_region(), target.account if target else None, part))

    def plan(self) -> list[TargetRun]:
        def plan_one(run: TargetRun) -> None:
            run.plan = self.engines[run.name].plan(run.desired)

        return self._each(self.runs, plan_one)

    def apply(self, on_progress: Callable[[str], None] | None = None) -> list[TargetRun]:
        """Apply each planned target's pending changes (targets whose plan failed are left alone)."""
        def apply_one(run: TargetRun) -> None:
            progress = (lambda line: on_progress(f"[{run.label}] {line}")) if on_progress else None
            run.applied = self.engines[run.name].apply(run.plan, on_progress=progress)

        return self._each([r for r in self.runs if r.plan is not None and r.plan.has_changes], apply_one)

    def wait(self, timeout: float = 600.0, poll: float = 5.0) -> list[TargetRun]:
        """Follow each target's rollouts (polling) until steady; a target whose rollout fails or
        times out gets the error, the others carry on."""
        def wait_one(run: TargetRun) -> None:
            run.rollouts = self.engines[run.name].wait(run.applied, timeout=timeout, poll=poll)

        return self._each([r for r in self.runs if r.applied is not None and r.applied.services and not r.error],
                          wait_one)

    def _each(self, runs: list[TargetRun], work: Callable[[TargetRun], None]) -> list[TargetRun]:
        def guarded(run: TargetRun) -> None:
            try:
                work(run)
            except (ClientError, BotoCoreError, ReconcileError) as exc:
                run.error = describe_error(exc)

        if runs:
            with ThreadPoolExecutor(max_workers=min(MAX_PARALLEL_TARGETS, len(runs)),
                                    thread_name_prefix="target") as pool:
                list(pool.map(guarded, runs))
        return self.runs

    @property
    def failed(self) -> list[TargetRun]:
        return [r for r in self.runs if r.error]

    @property
    def has_changes(self) -> bool:
        return any(r.plan is not None and r.plan.has_changes for r in self.runs)

    @property
    def conflicts(self) -> bool:
        return any(r.plan is not None and r.plan.conflicts for r in self.runs)
