"""event partitions: on PostgreSQL clicks, conversions and orphan_visits become partitioned by
month of their event time; a brand's order id and the conversion id move to conversion_keys,
which the ledger, refunds and customer claims now refer to

A unique key of a partitioned table must hold its partition key: clicks are unique by
(click_id, occurred_at) and orphan visits by (event_id, hour), both written once by the tracker
and identical on redelivery. An order may come again with another time, so (brand_id, order_id)
is unique in conversion_keys (unpartitioned, a row per order, kept forever), whose id is the
conversion's. On SQLite the constraints change the same way and the tables stay plain.

The rows are copied into the partitioned tables in the migration's transaction: a history
partition (everything before the first month with rows) and a partition per month from the
first month with rows to three months ahead (`vouch partitions ensure` adds later ones).

Revision ID: 0021
Revises: 0020
Create Date: 2026-12-04 22:10:00.000000
"""

from collections.abc import Sequence
from datetime import UTC, datetime

import sqlalchemy as sa
from alembic import op

import api.db

revision: str = '0021'
down_revision: str | None = '0020'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

MONTHS_AHEAD = 3
# The tables that refer to a conversion: their foreign keys move to conversion_keys.
_REFERRERS = ('refunds', 'ledger_entries', 'customer_claims')
# table: (partition key, primary key, unique keys {name: columns} of the partitioned table)
_TABLES = {
    'clicks': ('occurred_at', ('id', 'occurred_at'), {'uq_clicks_click_id_occurred_at': ('click_id', 'occurred_at')}),
    'conversions': ('occurred_at', ('id', 'occurred_at'), {}),
    'orphan_visits': ('hour', ('event_id', 'hour'), {}),
}
# What 0020 had instead (the downgrade puts it back).
_PLAIN = {
    'clicks': (('id',), {'uq_clicks_click_id': ('click_id',)}),
    'conversions': (('id',), {'uq_conversions_brand_id_order_id': ('brand_id', 'order_id')}),
    'orphan_visits': (('event_id',), {}),
}
_NEW_INDEX = 'ix_conversions_brand_id_order_id'
_KEY_FK = 'fk_conversions_id_conversion_keys'


def _add(month: datetime, n: int) -> datetime:
    index = month.year * 12 + month.month - 1 + n
    return month.replace(year=index // 12, month=index % 12 + 1)


def _months(first: datetime, last: datetime) -> list[datetime]:
    months, month = [], first
    while month <= last:
        months.append(month)
        month = _add(month, 1)
    return months


def _name(table: str, month: datetime) -> str:
    return f'{table}_y{month.year:04d}m{month.month:02d}'


def _bound(month: datetime) -> str:
    return f"'{month:%Y-%m-%d} 00:00:00+00'"


def _rebuild(table: str, partition_key: str | None) -> None:
    """Copies `table` into a new one like it (partitioned by month of `partition_key`, or plain
    when None) and puts the new one in its place with the old one's CHECKs, indexes and foreign
    keys (the keys of the new shape are the caller's)."""
    conn = op.get_bind()
    indexes = conn.execute(sa.text(
        "SELECT indexname, indexdef FROM pg_indexes WHERE schemaname = current_schema() "
        "AND tablename = :t AND indexname NOT IN (SELECT conname FROM pg_constraint "
        "WHERE conrelid = CAST(:t AS regclass) AND contype IN ('p', 'u'))"
    ), {'t': table}).all()
    fks = conn.execute(sa.text(
        "SELECT conname, pg_get_constraintdef(oid) FROM pg_constraint "
        "WHERE conrelid = CAST(:t AS regclass) AND contype = 'f'"
    ), {'t': table}).all()
    new = f'{table}_new'
    how = f' PARTITION BY RANGE ({partition_key})' if partition_key else ''
    op.execute(f'CREATE TABLE {new} (LIKE {table} INCLUDING DEFAULTS INCLUDING CONSTRAINTS){how}')
    if partition_key:
        now = datetime.now(UTC)
        this_month = datetime(now.year, now.month, 1)
        first = conn.scalar(sa.text(
            f"SELECT date_trunc('month', min({partition_key}) AT TIME ZONE 'UTC') FROM {table}"
        ))
        first = min(first, this_month) if first is not None else this_month
        last = _add(this_month, MONTHS_AHEAD)
        op.execute(
            f'CREATE TABLE {table}_history PARTITION OF {new} '
            f'FOR VALUES FROM (MINVALUE) TO ({_bound(first)})'
        )
        for month in _months(first, last):
            op.execute(
                f'CREATE TABLE {_name(table, month)} PARTITION OF {new} '
                f'FOR VALUES FROM ({_bound(month)}) TO ({_bound(_add(month, 1))})'
            )
    op.execute(f'INSERT INTO {new} SELECT * FROM {table}')
    sequence = None
    if table != 'orphan_visits':
        sequence = conn.scalar(sa.text("SELECT pg_get_serial_sequence(:t, 'id')"), {'t': table})
    if sequence:  # keeps counting where it was: owned by the new table's id
        op.execute(f'ALTER SEQUENCE {sequence} OWNED BY {new}.id')
    op.execute(f'DROP TABLE {table}')
    op.execute(f'ALTER TABLE {new} RENAME TO {table}')
    for _name_, definition in indexes:
        op.execute(definition)
    for name, definition in fks:
        op.execute(f'ALTER TABLE {table} ADD CONSTRAINT {name} {definition}')


def _keys(table: str, primary: tuple[str, ...], uniques: dict[str, tuple[str, ...]]) -> None:
    op.execute(f"ALTER TABLE {table} ADD CONSTRAINT pk_{table} PRIMARY KEY ({', '.join(primary)})")
    for name, columns in uniques.items():
        op.execute(f"ALTER TABLE {table} ADD CONSTRAINT {name} UNIQUE ({', '.join(columns)})")


def _move_references(target: str) -> None:
    """Points the conversion foreign keys of refunds, ledger entries and claims at `target`."""
    other = 'conversions' if target == 'conversion_keys' else 'conversion_keys'
    sqlite = op.get_bind().dialect.name == 'sqlite'
    for table in _REFERRERS:
        if sqlite:
            with op.batch_alter_table(table) as batch_op:
                batch_op.drop_constraint(f'fk_{table}_conversion_id_{other}', type_='foreignkey')
                batch_op.create_foreign_key(
                    f'fk_{table}_conversion_id_{target}', target, ['conversion_id'], ['id']
                )
        else:
            op.drop_constraint(f'fk_{table}_conversion_id_{other}', table, type_='foreignkey')
            op.create_foreign_key(
                f'fk_{table}_conversion_id_{target}', table, target, ['conversion_id'], ['id']
            )


def upgrade() -> None:
    conn = op.get_bind()
    op.create_table('conversion_keys',
    sa.Column('id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), autoincrement=True, nullable=False),
    sa.Column('brand_id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=False),
    sa.Column('order_id', sa.String(length=128), nullable=False),
    sa.Column('occurred_at', api.db.UTCDateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['brand_id'], ['brands.id'], name=op.f('fk_conversion_keys_brand_id_brands')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_conversion_keys')),
    sa.UniqueConstraint('brand_id', 'order_id', name=op.f('uq_conversion_keys_brand_id_order_id'))
    )
    op.execute(
        'INSERT INTO conversion_keys (id, brand_id, order_id, occurred_at) '
        'SELECT id, brand_id, order_id, occurred_at FROM conversions'
    )
    if conn.dialect.name == 'sqlite':
        _move_references('conversion_keys')
        with op.batch_alter_table('clicks') as batch_op:
            batch_op.drop_constraint('uq_clicks_click_id', type_='unique')
            batch_op.create_unique_constraint('uq_clicks_click_id_occurred_at', ['click_id', 'occurred_at'])
        with op.batch_alter_table('conversions') as batch_op:
            batch_op.drop_constraint('uq_conversions_brand_id_order_id', type_='unique')
            batch_op.create_index(_NEW_INDEX, ['brand_id', 'order_id'], unique=False)
            batch_op.create_foreign_key(_KEY_FK, 'conversion_keys', ['id'], ['id'])
        with op.batch_alter_table('orphan_visits', recreate='always') as batch_op:
            batch_op.drop_constraint('pk_orphan_visits', type_='primary')
            batch_op.create_primary_key('pk_orphan_visits', ['event_id', 'hour'])
        return
    # Conversion ids now come from the keys' sequence, from where the conversions' one was.
    op.execute(
        "SELECT setval(pg_get_serial_sequence('conversion_keys', 'id'), "
        "(SELECT last_value FROM conversions_id_seq), "
        "(SELECT is_called FROM conversions_id_seq))"
    )
    _move_references('conversion_keys')
    for table, (key, primary, uniques) in _TABLES.items():
        _rebuild(table, key)
        _keys(table, primary, uniques)
    op.execute('ALTER TABLE conversions ALTER COLUMN id DROP DEFAULT')
    op.execute('DROP SEQUENCE conversions_id_seq')
    op.create_index(_NEW_INDEX, 'conversions', ['brand_id', 'order_id'], unique=False)
    op.create_foreign_key(_KEY_FK, 'conversions', 'conversion_keys', ['id'], ['id'])


def downgrade() -> None:
    conn = op.get_bind()
    if conn.dialect.name == 'sqlite':
        with op.batch_alter_table('orphan_visits', recreate='always') as batch_op:
            batch_op.drop_constraint('pk_orphan_visits', type_='primary')
            batch_op.create_primary_key('pk_orphan_visits', ['event_id'])
        with op.batch_alter_table('conversions') as batch_op:
            batch_op.drop_constraint(_KEY_FK, type_='foreignkey')
            batch_op.drop_index(_NEW_INDEX)
            batch_op.create_unique_constraint('uq_conversions_brand_id_order_id', ['brand_id', 'order_id'])
        with op.batch_alter_table('clicks') as batch_op:
            batch_op.drop_constraint('uq_clicks_click_id_occurred_at', type_='unique')
            batch_op.create_unique_constraint('uq_clicks_click_id', ['click_id'])
        _move_references('conversions')
        op.drop_table('conversion_keys')
        return
    op.drop_constraint(_KEY_FK, 'conversions', type_='foreignkey')
    op.drop_index(_NEW_INDEX, 'conversions')
    # Rows of partitions detached by retention are not in the tables any more: they stay out.
    for table, (primary, uniques) in _PLAIN.items():
        _rebuild(table, None)
        _keys(table, primary, uniques)
    op.execute('CREATE SEQUENCE conversions_id_seq OWNED BY conversions.id')
    op.execute(
        "SELECT setval('conversions_id_seq', "
        "(SELECT last_value FROM conversion_keys_id_seq), "
        "(SELECT is_called FROM conversion_keys_id_seq))"
    )
    op.execute("ALTER TABLE conversions ALTER COLUMN id SET DEFAULT nextval('conversions_id_seq')")
    _move_references('conversions')
    op.drop_table('conversion_keys')
