"""How many calls each scenario needs at least, and how many a one-resource-at-a-time reader makes.

Lower bound from the API batch limits: DescribeClusters 100 a call, DescribeServices 10 a call
(per cluster), ListRules 100 a page, DescribeTaskDefinition one family a call, ListTargetsByRule
and ListTagsForResource one rule a call (rule tags are drift-checked), DescribeScalableTargets 50 services a call (desiredCount
ownership). Writes: one per resource
created or changed. Warm scenarios assume a live event stream, so an unchanged fleet needs no read
between resyncs, and a resync reads only services and clusters.
"""

from __future__ import annotations

from collections import Counter
from math import ceil

from reconciler.observed.autoscaling import RESOURCE_IDS_MAX
from reconciler.observed.batching import DESCRIBE_CLUSTERS_MAX, DESCRIBE_SERVICES_MAX, LIST_RULES_PAGE

from .fleet import FleetShape


def _reads(shape: FleetShape) -> Counter:
    return Counter({
        ("ecs", "DescribeClusters"): ceil(shape.clusters / DESCRIBE_CLUSTERS_MAX),
        ("ecs", "DescribeServices"): sum(ceil(n / DESCRIBE_SERVICES_MAX) for n in shape.services_per_cluster().values()),
        ("ecs", "DescribeTaskDefinition"): shape.families,
        ("events", "ListRules"): max(1, ceil(shape.scheduled / LIST_RULES_PAGE)),
        ("events", "ListTargetsByRule"): shape.scheduled,
        ("events", "ListTagsForResource"): shape.scheduled,
        ("application-autoscaling", "DescribeScalableTargets"): ceil(shape.services / RESOURCE_IDS_MAX),
    })


def _per_resource_reads(shape: FleetShape) -> Counter:
    return Counter({
        ("ecs", "DescribeClusters"): shape.clusters,
        ("ecs", "DescribeServices"): shape.services,
        ("ecs", "DescribeTaskDefinition"): shape.families,
        ("events", "DescribeRule"): shape.scheduled,
        ("events", "ListTargetsByRule"): shape.scheduled,
        ("events", "ListTagsForResource"): shape.scheduled,
        ("application-autoscaling", "DescribeScalableTargets"): shape.services,
    })


def _creates(shape: FleetShape) -> Counter:
    return Counter({
        ("ecs", "CreateCluster"): shape.clusters,
        ("ecs", "RegisterTaskDefinition"): shape.families,
        ("ecs", "CreateService"): shape.services,
        ("events", "PutRule"): shape.scheduled,
        ("events", "PutTargets"): shape.scheduled,
    })


IMAGE_CHANGE_WRITES = Counter({("ecs", "RegisterTaskDefinition"): 1, ("ecs", "UpdateService"): 1})


def bounds(scenario: str, shape: FleetShape) -> tuple[Counter, Counter]:
    """(lower bound, per-resource reader) call counts for a scenario."""
    if scenario == "cold_plan":
        return _reads(shape), _per_resource_reads(shape)
    if scenario == "warm_reconcile":
        # Nothing changed and the stream is live: nothing to read. A reader without events re-reads all.
        return Counter(), _per_resource_reads(shape)
    if scenario == "warm_resync":
        # Every service and cluster again, in full batches; revisions, rules and scaling targets from the cache.
        reads = _reads(shape)
        return Counter({op: reads[op] for op in (("ecs", "DescribeClusters"), ("ecs", "DescribeServices"))}), \
            _per_resource_reads(shape)
    if scenario == "image_change_plan":
        return Counter(), _per_resource_reads(shape)
    if scenario == "warm_reconcile_after_change":
        # Events name the family and the service that the apply changed: one read each.
        return Counter({("ecs", "DescribeTaskDefinition"): 1, ("ecs", "DescribeServices"): 1}), _per_resource_reads(shape)
    if scenario == "image_change_apply":
        return Counter(IMAGE_CHANGE_WRITES), Counter(IMAGE_CHANGE_WRITES)
    if scenario == "cold_apply":
        # On an empty account the reads find nothing; ListRules is one (empty) page, no targets or tags.
        reads = _reads(shape)
        reads[("events", "ListRules")] = 1
        reads[("events", "ListTargetsByRule")] = reads[("events", "ListTagsForResource")] = 0
        per_resource = _per_resource_reads(shape)
        per_resource[("events", "ListTargetsByRule")] = per_resource[("events", "ListTagsForResource")] = 0
        return +(reads + _creates(shape)), +(per_resource + _creates(shape))
    raise KeyError(scenario)
