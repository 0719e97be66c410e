"""JetStream stream definitions, declared by producers and consumers alike."""

from __future__ import annotations

from nats.js.api import RetentionPolicy, StorageType, StreamConfig

from telecast_libs.subjects import Subjects

# How long JetStream remembers a Nats-Msg-Id. A relay that re-publishes after a crash does so
# within seconds; beyond the window, the read models' own version checks catch duplicates.
DUPLICATE_WINDOW_S = 600.0


def campaign_events_stream(subjects: Subjects) -> StreamConfig:
    return StreamConfig(
        name=subjects.campaign_events_stream,
        subjects=subjects.campaign_service_events,
        retention=RetentionPolicy.LIMITS,
        storage=StorageType.FILE,
        duplicate_window=DUPLICATE_WINDOW_S,
        description="The campaign service's events, published from its event store by the relay",
    )


def delivery_events_stream(subjects: Subjects) -> StreamConfig:
    return StreamConfig(
        name=subjects.delivery_events_stream,
        subjects=subjects.delivery_service_events,
        retention=RetentionPolicy.LIMITS,
        storage=StorageType.FILE,
        duplicate_window=DUPLICATE_WINDOW_S,
        description="The dispatcher's delivery and execution events, published from its ledger",
    )


def work_stream(subjects: Subjects) -> StreamConfig:
    # Work-queue retention: an item is gone once a dispatcher acknowledges it, which it does
    # only after the item's outcomes are committed to the ledger.
    return StreamConfig(
        name=subjects.work_stream,
        subjects=[subjects.work(priority) for priority in ("high", "normal", "low")],
        retention=RetentionPolicy.WORK_QUEUE,
        storage=StorageType.FILE,
        duplicate_window=DUPLICATE_WINDOW_S,
        description="Execution work items (batches of recipients) for the dispatcher replicas",
    )
