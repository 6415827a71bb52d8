"""partnership_withdrawn: the invitation message is stored (partnerships.invitation_message), and
WITHDRAWN joins the partnership statuses admitted by the CHECK constraint of 0006

Revision ID: 0008
Revises: 0007
Create Date: 2026-11-21 13:10:00.000000
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op


revision: str = '0008'
down_revision: str | None = '0007'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

# The partnership states as of this revision and the one before (frozen, as in 0006).
_BEFORE = ('INVITED', 'ACCEPTED', 'DECLINED', 'ACTIVE', 'COMPLETED', 'TERMINATED')
_AFTER = _BEFORE + ('WITHDRAWN',)
_CHECK = 'ck_partnerships_status_valid'


def _states(states: tuple[str, ...]) -> str:
    return 'status IN ({})'.format(', '.join(f"'{s}'" for s in states))


def upgrade() -> None:
    # On SQLite batch mode copies the table once, with the new column and the new CHECK.
    with op.batch_alter_table('partnerships', schema=None) as batch_op:
        batch_op.add_column(sa.Column('invitation_message', sa.Text(), nullable=True))
        batch_op.drop_constraint(op.f(_CHECK), type_='check')
        batch_op.create_check_constraint(op.f(_CHECK), _states(_AFTER))


def downgrade() -> None:
    # The old constraint has no WITHDRAWN: an unanswered invitation that the brand took back
    # becomes DECLINED (the nearest earlier state: ended before it was accepted), so that the
    # downgrade never fails on a row the old CHECK would refuse.
    op.execute("UPDATE partnerships SET status = 'DECLINED' WHERE status = 'WITHDRAWN'")
    with op.batch_alter_table('partnerships', schema=None) as batch_op:
        batch_op.drop_constraint(op.f(_CHECK), type_='check')
        batch_op.create_check_constraint(op.f(_CHECK), _states(_BEFORE))
        batch_op.drop_column('invitation_message')
