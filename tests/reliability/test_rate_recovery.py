"""After throttling stops, the request rate is back at the token bucket's refill rate at once.

One mechanism shapes the rate (reconciler/aws.py): our buckets, with botocore's standard retries.
The buckets run on a virtual clock that only our own waits advance, so the rate is measured in
calls per bucket-second: exact and independent of how fast this machine is.
"""

from __future__ import annotations

import pytest
from botocore.exceptions import ClientError

from reconciler.aws import AwsSettings, CallLog, Clients
from reconciler.ratelimit import Bucket, RateLimiter

from support.faultproxy import THROTTLE, FaultProxy

BURST, REFILL = 5, 10.0  # DescribeClusters' class, scaled down so the test is short


class VirtualClock:
    def __init__(self) -> None:
        self.now = 0.0

    def __call__(self) -> float:
        return self.now

    def sleep(self, seconds: float) -> None:
        self.now += seconds


def test_rate_returns_to_bucket_refill_after_throttling_stops(clean_endpoint):
    clock = VirtualClock()
    limiter = RateLimiter({"ecs:cluster-read": Bucket(BURST, REFILL)}, clock=clock, sleep=clock.sleep)
    with FaultProxy(clean_endpoint, only_operations={"DescribeClusters"}) as proxy:
        clients = Clients(AwsSettings(region="us-east-1", endpoint_url=proxy.url, max_attempts=2), CallLog(), limiter)
        assert clients.ecs.meta.config.retries["mode"] == "standard"

        # Sustained throttling: every attempt is refused, each one took a token.
        proxy.configure(throttle_rate=1.0)
        for _ in range(4):
            with pytest.raises(ClientError, match="Throttling"):
                clients.ecs.describe_clusters(clusters=["default"])
        assert proxy.count(THROTTLE, "DescribeClusters") == 8  # 4 calls x 2 attempts
        assert clients.call_log.attempts[("ecs", "DescribeClusters")] == 8

        # Throttling stops: the next calls go out at the bucket's pace, not slower, with no retry.
        proxy.configure(throttle_rate=0.0)
        started, calls = clock.now, 60
        for _ in range(calls):
            clients.ecs.describe_clusters(clusters=["default"])
        elapsed = clock.now - started
    assert proxy.forwarded("DescribeClusters") == calls
    assert clients.call_log.attempts[("ecs", "DescribeClusters")] == 8 + calls  # one attempt per call
    # At most BURST tokens were saved up, so `calls` take between (calls - BURST) and calls refills.
    assert (calls - BURST) / REFILL <= elapsed <= calls / REFILL
    assert 1.0 <= (calls / elapsed) / REFILL <= calls / (calls - BURST)
