"""one active flag per organisation and subject, one open dispute per subject, reasons

Revision ID: 0004
Revises: 0003
Create Date: 2026-12-02 05:30:00

The two partial unique indexes make SPEC §8's "at most one" rules hold even against a
writer that skips the service (a direct INSERT): the services check first and answer 409,
the indexes are the backstop.
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0004"
down_revision = "0003"
branch_labels = None
depends_on = None

ACTIVE = sa.text("status IN ('reported', 'confirmed')")
OPEN = sa.text("status = 'open'")


def upgrade() -> None:
    with op.batch_alter_table("flag", schema=None) as batch_op:
        batch_op.add_column(sa.Column("reason", sa.Text(), nullable=True))
    op.create_index(
        "uq_flag_active_per_organisation",
        "flag",
        ["subject_id", "organisation_id"],
        unique=True,
        postgresql_where=ACTIVE,
        sqlite_where=ACTIVE,
    )
    op.create_index(
        "uq_dispute_open_per_subject",
        "dispute",
        ["subject_id"],
        unique=True,
        postgresql_where=OPEN,
        sqlite_where=OPEN,
    )


def downgrade() -> None:
    op.drop_index("uq_dispute_open_per_subject", table_name="dispute")
    op.drop_index("uq_flag_active_per_organisation", table_name="flag")
    with op.batch_alter_table("flag", schema=None) as batch_op:
        batch_op.drop_column("reason")
