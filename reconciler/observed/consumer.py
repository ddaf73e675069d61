"""Reads the event queue into the `EventCache` and hands dirty resource keys to the controller.

A message is deleted only after what it caused has been handed over (`on_dirty` returned). If
anything fails before that, the message stays and SQS redelivers it after the visibility timeout,
and the affected keys go back on the cache's dirty list, so the next poll hands them over even
though the redelivered copy is then only a duplicate. Malformed messages are deleted: redelivery
would never make them readable.

Many events for one service in a batch become one key: `on_dirty` gets a set.
The consumer is the one that drains `cache.drain_dirty()`; nothing else should.
"""

from __future__ import annotations

import logging
import threading
from collections import Counter
from datetime import datetime, timezone
from typing import Any, Callable

from reconciler.observed.event_cache import EventCache
from reconciler.observed.events import ParsedEvent, Rejected, parse_message

log = logging.getLogger(__name__)


class EventConsumer:
    def __init__(
        self,
        clients: Any,
        queue_url: str,
        cache: EventCache,
        on_dirty: Callable[[set], None],
        wait_seconds: int = 20,
        max_messages: int = 10,
        error_backoff: float = 1.0,
        changes: Any = None,
    ) -> None:
        self.sqs = clients.client("sqs")
        self.queue_url = queue_url
        self.cache = cache
        self.on_dirty = on_dirty
        self.wait_seconds = wait_seconds
        self.max_messages = max(1, min(max_messages, 10))
        self.error_backoff = error_backoff
        self.changes = changes  # an attribution.ChangeLog: who made each write call the stream shows
        self._counters: Counter = Counter()
        self._lock = threading.Lock()
        self._last_event_time: datetime | None = None
        self._last_lag: float | None = None

    def poll_once(self) -> int:
        """One long poll; returns how many messages were deleted."""
        response = self.sqs.receive_message(
            QueueUrl=self.queue_url,
            MaxNumberOfMessages=self.max_messages,
            WaitTimeSeconds=self.wait_seconds,
        )
        messages = response.get("Messages", [])
        self._count(polls=1, messages=len(messages))
        done = [m for m in messages if self._handle(m)]
        keys = self.cache.drain_dirty()
        if keys:
            try:
                self.on_dirty(keys)
            except Exception:
                self.cache.mark_dirty(keys)
                self._count(handler_errors=1)
                log.exception("on_dirty failed for %d keys; %d messages left for redelivery", len(keys), len(done))
                return 0
            self._count(dirty_batches=1, dirty_keys=len(keys))
        return self._delete(done)

    def _handle(self, message: dict) -> bool:
        """Parse and apply one message; False means leave it in the queue."""
        try:
            result = parse_message(message.get("Body", ""))
            if isinstance(result, Rejected):
                self.cache.record_rejected(result)
                level = logging.INFO if result.category == "unknown" else logging.WARNING
                log.log(level, "skipping message %s: %s", message.get("MessageId"), result.reason)
                return True
            self.cache.apply(result)
            if self.changes is not None:
                self.changes.record(result)
            self._note_time(result)
            return True
        except Exception:
            self._count(message_errors=1)
            log.exception("handling message %s failed; leaving it for redelivery", message.get("MessageId"))
            return False

    def _note_time(self, event: ParsedEvent) -> None:
        lag = (datetime.now(timezone.utc) - event.time).total_seconds()
        with self._lock:
            self._last_event_time, self._last_lag = event.time, lag

    def _delete(self, messages: list[dict]) -> int:
        if not messages:
            return 0
        entries = [{"Id": str(i), "ReceiptHandle": m["ReceiptHandle"]} for i, m in enumerate(messages)]
        response = self.sqs.delete_message_batch(QueueUrl=self.queue_url, Entries=entries)
        failed = response.get("Failed", [])
        for failure in failed:
            log.warning("delete failed for entry %s: %s", failure.get("Id"), failure.get("Message"))
        deleted = len(response.get("Successful", []))
        self._count(deleted=deleted, delete_failures=len(failed))
        return deleted

    def run(self, stop_event: threading.Event) -> None:
        """Poll until `stop_event` is set (checked between polls, so allow `wait_seconds` to stop)."""
        while not stop_event.is_set():
            try:
                self.poll_once()
            except Exception:
                self._count(poll_errors=1)
                log.exception("polling %s failed; retrying in %.1fs", self.queue_url, self.error_backoff)
                stop_event.wait(self.error_backoff)

    def stats(self) -> dict[str, Any]:
        """Cache counters plus consumer counters and the lag of the last event, for metrics."""
        with self._lock:
            stats: dict[str, Any] = dict(self._counters)
            stats["last_event_lag_seconds"] = self._last_lag
            stats["last_event_time"] = self._last_event_time.isoformat() if self._last_event_time else None
        for name in ("polls", "messages", "deleted", "delete_failures", "handler_errors", "message_errors",
                     "poll_errors", "dirty_batches", "dirty_keys"):
            stats.setdefault(name, 0)
        stats.update(self.cache.counters())
        stats["dirty_pending"] = len(self.cache.dirty)
        return stats

    def _count(self, **increments: int) -> None:
        with self._lock:
            self._counters.update(increments)


def start_consumer_thread(consumer: EventConsumer, name: str = "event-consumer") -> tuple[threading.Thread, threading.Event]:
    """Run `consumer` in a daemon thread; set the returned event to stop it."""
    stop = threading.Event()
    thread = threading.Thread(target=consumer.run, args=(stop,), name=name, daemon=True)
    thread.start()
    return thread, stop

