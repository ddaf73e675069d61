"""Two sharded operator replicas over kmock (which serves Leases with resourceVersion, see conftest):
each target's objects are handled by the one replica holding its Lease; a replica cut off from the
API stops acting before the other takes its targets over, within the lease duration; a target is
never handled by two replicas at once."""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time

import pytest

from reconciler.operator.handlers import OperatorConfig
from reconciler.operator.sharding import ShardGate, shard_of
from reconciler.operator.tenancy import Policy
from reconciler.target_leases import LeaseApi

from test_targets_operator import ADMIN, A, TARGET
from test_tenancy import ready, stalled

LEASE_SECONDS, RENEW, DEADLINE = 2, 0.2, 1.2


class Journal(logging.Handler):
    """Every handler run the gates let through: (target, replica, started, ended, object)."""

    def __init__(self) -> None:
        super().__init__(logging.DEBUG)
        self.spans: list[tuple[str | None, str, float, float, str]] = []

    def emit(self, record: logging.LogRecord) -> None:
        if hasattr(record, "replica"):
            self.spans.append((record.target, record.replica, record.started, record.ended, record.object))


@pytest.fixture
def journal():
    handler, logger = Journal(), logging.getLogger("reconciler.operator.sharding")
    level = logger.level
    logger.addHandler(handler)
    logger.setLevel(logging.DEBUG)
    yield handler
    logger.removeHandler(handler)
    logger.setLevel(level)


def assert_never_two_at_once(spans) -> None:
    for target in {t for t, *_ in spans}:
        runs = sorted((s, e, who) for t, who, s, e, _ in spans if t == target)
        for (s1, e1, a), (s2, e2, b) in zip(runs, runs[1:]):
            assert a == b or e1 <= s2, f"{target}: {a} and {b} handled it at once"


async def wait_until(predicate, what: str, timeout: float = 20) -> None:
    deadline = time.monotonic() + timeout
    while not predicate():
        assert time.monotonic() < deadline, f"timed out waiting for {what}"
        await asyncio.sleep(0.05)


@pytest.mark.asyncio
async def test_targets_divide_between_replicas_and_move_when_one_is_cut_off(kube, local, run_operator, journal):
    api = LeaseApi(kube.url, ADMIN)
    gates = {name: ShardGate(api, name, lease_seconds=LEASE_SECONDS, renew_seconds=RENEW, renew_deadline=DEADLINE,
                             catch_up_seconds=0.3) for name in ("r1", "r2")}
    configs = [OperatorConfig(region="us-east-1", endpoint_url=local.url, resync_seconds=60, retry_delay=0.5,
                              targets_namespace=ADMIN, policy=Policy(targets={A: ("payments-eu",)}), shard=gate)
               for gate in gates.values()]
    await kube.create("EcsTarget", "payments-eu", TARGET, ADMIN)
    async with contextlib.AsyncExitStack() as stack:
        for config in configs:
            await stack.enter_async_context(run_operator(kube.url, config, (ADMIN, A)))
        await wait_until(lambda: all(len(g.leases.held()) == 1 for g in gates.values()), "one target each")
        holder = {t: name for name, g in gates.items() for t in g.leases.held()}
        assert set(holder) == {None, "payments-eu"} and len(set(holder.values())) == 2

        await kube.create("EcsCluster", "home", {}, A)
        await kube.create("EcsCluster", "shop", {"target": "payments-eu"}, A)
        assert (await ready(kube, "EcsCluster", "home", A))["reconciledBy"] == holder[None]
        assert (await ready(kube, "EcsCluster", "shop", A))["reconciledBy"] == holder["payments-eu"]
        # A spec change too is handled by the target's holder only.
        await kube.patch_spec("EcsCluster", "shop", {"tags": {"team": "shop"}}, A)

        async def second_generation():
            status = await kube.status("EcsCluster", "shop", A)
            return status if status.get("observedGeneration") == 2 and status.get("synced") else None
        assert (await kube.wait_for(second_generation, what="shop at generation 2"))["reconciledBy"] == \
            holder["payments-eu"]
        assert {who for t, who, *_ in journal.spans if t is None} == {holder[None]}
        assert {who for t, who, *_ in journal.spans if t == "payments-eu"} == {holder["payments-eu"]}

        # The ambient holder stops renewing (dead, or cut off from the API) and releases nothing;
        # its kopf keeps running and sees every event, but acts only until its renew deadline.
        cut_off, survivor = holder[None], holder["payments-eu"]
        cut_at = time.monotonic()
        await asyncio.to_thread(gates[cut_off].stop, False)
        await wait_until(lambda: len(gates[survivor].leases.held()) == 2, "the survivor to take the ambient target")
        took_over = time.monotonic() - cut_at
        assert gates[cut_off].leases.held() == []
        # The objects already there are checked by the new holder at once (catch-up), not at the resync.
        await wait_until(lambda: any(who == survivor and o == f"EcsCluster/{A}/home" and s > cut_at
                                     for t, who, s, e, o in journal.spans), "the survivor to check home")

        await kube.create("EcsCluster", "late", {}, A)
        assert (await ready(kube, "EcsCluster", "late", A))["reconciledBy"] == survivor
        await kube.delete("EcsCluster", "late", A)

        async def gone():
            return await kube.get("EcsCluster", "late", A) is None
        await kube.wait_for(gone, what="late deleted by the survivor")

        # A target first named by an object gets its Lease; its holder says what is wrong.
        await kube.create("EcsCluster", "stray", {"target": "nowhere"}, A)
        condition = await stalled(kube, "EcsCluster", "stray", A, "PolicyViolation")
        assert "nowhere" in condition["message"]
        assert (await kube.status("EcsCluster", "stray", A))["reconciledBy"] == survivor

    assert_never_two_at_once(journal.spans)
    assert all(s < cut_at + DEADLINE for t, who, s, e, _ in journal.spans if who == cut_off)
    assert any(t is None and who == survivor for t, who, *_ in journal.spans)
    print(f"takeover after {took_over:.2f}s (lease {LEASE_SECONDS}s)")


def test_an_object_is_guarded_by_its_targets_lease_or_the_ambient_one():
    assert shard_of({"spec": {"target": "payments-eu"}}) == "payments-eu"
    assert shard_of({"spec": {}}) is None
    # A name no EcsTarget can have (the API server let an old schema through): no Lease of its own,
    # the ambient holder tells the object it is invalid.
    assert shard_of({"spec": {"target": "Not/A Lease"}}) is None


def test_the_operator_refuses_sharding_it_cannot_do(monkeypatch):
    from click.testing import CliRunner

    from reconciler.cli import cli

    monkeypatch.delenv("KUBERNETES_SERVICE_HOST", raising=False)
    base = ["operator", "--namespace", "shop", "--metrics-listen", "", "--shard"]
    outside = CliRunner().invoke(cli, base)
    assert outside.exit_code == 2 and "--shard needs to run in a pod" in outside.output
    both = CliRunner().invoke(cli, [*base, "--peering", "shop-operators"])
    assert both.exit_code == 2 and "--shard and --peering exclude each other" in both.output


@pytest.mark.asyncio
async def test_a_change_another_replica_marked_handled_is_caught_up_by_the_holder(kube, local, run_operator):
    """Another replica's kopf may store the shared last-handled annotation before the holder's kopf
    looks: the holder's kopf then sees no change, and the catch-up timer reconciles it."""
    import kopf

    from reconciler.operator.command import operator_settings

    gate = ShardGate(LeaseApi(kube.url, ADMIN), "solo", lease_seconds=LEASE_SECONDS, renew_seconds=RENEW,
                     renew_deadline=DEADLINE, catch_up_seconds=0.3)
    config = OperatorConfig(region="us-east-1", endpoint_url=local.url, resync_seconds=60, retry_delay=0.5, shard=gate)
    async with run_operator(kube.url, config, (A,)):
        await kube.create("EcsCluster", "home", {}, A)
        await ready(kube, "EcsCluster", "home", A)
        current = await kube.get("EcsCluster", "home", A)
        changed = {**current, "metadata": {**current["metadata"], "generation": 2}, "spec": {"tags": {"team": "a"}}}
        storage, marked = operator_settings().persistence.diffbase_storage, kopf.Patch()
        storage.store(body=kopf.Body(changed), patch=marked, essence=storage.build(body=kopf.Body(changed)))
        body = {"metadata": {"generation": 2, **dict(marked)["metadata"]}, "spec": changed["spec"]}
        async with kube.session.patch(kube.path("EcsCluster", "home", A), json=body,
                                      headers={"Content-Type": "application/merge-patch+json"}) as response:
            assert response.status < 300, await response.text()

        async def second_generation():
            status = await kube.status("EcsCluster", "home", A)
            return status if status.get("observedGeneration") == 2 and status.get("synced") else None
        assert (await kube.wait_for(second_generation, what="home at generation 2"))["reconciledBy"] == "solo"
    # kopf saw no update to handle: the catch-up did it.
    assert not [e for e in kube.events() if "Updating is processed" in e.get("message", "")
                and e.get("involvedObject", {}).get("name") == "home"]
