"""status_checks: CHECK constraints on the workflow statuses of campaigns, partnerships and
deliverables (the values of their domain state machines, frozen here as of this revision)

Revision ID: 0006
Revises: 0005
Create Date: 2026-11-21 12:05:59.097621
"""

from collections.abc import Sequence

from alembic import op


revision: str = '0006'
down_revision: str | None = '0005'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

_STATES = {
    'campaigns': ('DRAFT', 'ACTIVE', 'PAUSED', 'COMPLETED', 'CANCELLED'),
    'partnerships': ('INVITED', 'ACCEPTED', 'DECLINED', 'ACTIVE', 'COMPLETED', 'TERMINATED'),
    'deliverables': ('DRAFT', 'SUBMITTED', 'CHANGES_REQUESTED', 'APPROVED', 'PUBLISHED'),
}


def upgrade() -> None:
    for table, states in _STATES.items():
        values = ", ".join(f"'{s}'" for s in states)
        with op.batch_alter_table(table, schema=None) as batch_op:
            batch_op.create_check_constraint(
                op.f(f'ck_{table}_status_valid'), f'status IN ({values})'
            )


def downgrade() -> None:
    for table in _STATES:
        with op.batch_alter_table(table, schema=None) as batch_op:
            batch_op.drop_constraint(op.f(f'ck_{table}_status_valid'), type_='check')
