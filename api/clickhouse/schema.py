"""The sink's tables on ClickHouse, created when missing (no migrations: ClickHouse's schema is
its own, made by `create` when a client connects).

Every table is a ReplacingMergeTree keyed by the row's id within its organization and
partitioned by month of the event, so a row written twice (a retry, a catch-up that re-reads
a margin, a backfill over what the sink copied) is one row once merged, and reads dedupe
before merging with FINAL. Conversions and refunds change after insert (a review approves or
rejects an order, a waiting refund is applied): the version is their `updated_at` in
microseconds, so the newest copy wins. Ids of what is absent are 0 (no partnership, no link).
Money is minor units (Int64) with its currency.
"""

from __future__ import annotations

from typing import Any

TABLES = {
    "clicks": """
        CREATE TABLE IF NOT EXISTS clicks (
            id UInt64,
            click_id String,
            organization_id UInt64,
            brand_id UInt64,
            campaign_id UInt64,
            partnership_id UInt64,
            influencer_id UInt64,
            link_id UInt64,
            occurred_at DateTime64(6, 'UTC'),
            bot UInt8,
            is_unique UInt8,
            country LowCardinality(String),
            device LowCardinality(String),
            referrer_host String,
            ip_hash String
        ) ENGINE = ReplacingMergeTree
        PARTITION BY toYYYYMM(occurred_at)
        ORDER BY (organization_id, campaign_id, occurred_at, id)
    """,
    "conversions": """
        CREATE TABLE IF NOT EXISTS conversions (
            id UInt64,
            organization_id UInt64,
            brand_id UInt64,
            campaign_id UInt64,
            partnership_id UInt64,
            influencer_id UInt64,
            link_id UInt64,
            order_id String,
            amount Int64,
            currency LowCardinality(String),
            occurred_at DateTime64(6, 'UTC'),
            status LowCardinality(String),
            attributed_via LowCardinality(String),
            discount_code String,
            repeat UInt8,
            country LowCardinality(String),
            device LowCardinality(String),
            referrer_host String,
            version UInt64
        ) ENGINE = ReplacingMergeTree(version)
        PARTITION BY toYYYYMM(occurred_at)
        ORDER BY (organization_id, id)
    """,
    "refunds": """
        CREATE TABLE IF NOT EXISTS refunds (
            id UInt64,
            organization_id UInt64,
            brand_id UInt64,
            conversion_id UInt64,
            amount Int64,
            currency LowCardinality(String),
            occurred_at DateTime64(6, 'UTC'),
            status LowCardinality(String),
            version UInt64
        ) ENGINE = ReplacingMergeTree(version)
        PARTITION BY toYYYYMM(occurred_at)
        ORDER BY (organization_id, id)
    """,
    # Where the sink is in each table (`api.clickhouse.sink`): the newest value of a name wins.
    "sink_state": """
        CREATE TABLE IF NOT EXISTS sink_state (
            name String,
            value Int64,
            at DateTime64(6, 'UTC')
        ) ENGINE = ReplacingMergeTree(at)
        ORDER BY name
    """,
}


def create(client: Any) -> None:
    for ddl in TABLES.values():
        client.command(" ".join(ddl.split()))
