"""The optional analytics sink on ClickHouse: raw clicks, conversions and refunds, copied from
the database by the ingest worker (`sink`), read by series and breakdowns when
ANALYTICS_SOURCE=clickhouse (`analytics`). `client` hides a server and the embedded engine."""
