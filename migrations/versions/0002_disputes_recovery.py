"""disputes and recovery ledger

Revision ID: 0002
Revises: 0001
Create Date: 2026-11-28 13:08:55.637418
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0002"
down_revision = "0001"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "recovery_entry",
        sa.Column("id", sa.String(length=36), nullable=False),
        sa.Column("subject_id", sa.Integer(), nullable=False),
        sa.Column("organisation_id", sa.Integer(), nullable=False),
        sa.Column("action", sa.String(length=16), nullable=False),
        sa.Column("amount_vnd", sa.BigInteger(), nullable=False),
        sa.Column("case_reference", sa.String(length=100), nullable=True),
        sa.Column("note", sa.Text(), nullable=True),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["organisation_id"],
            ["organisation.id"],
            name=op.f("fk_recovery_entry_organisation_id_organisation"),
        ),
        sa.ForeignKeyConstraint(
            ["subject_id"], ["subject.id"], name=op.f("fk_recovery_entry_subject_id_subject")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_recovery_entry")),
    )
    with op.batch_alter_table("recovery_entry", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_recovery_entry_case_reference"), ["case_reference"], unique=False
        )
        batch_op.create_index(
            batch_op.f("ix_recovery_entry_subject_id"), ["subject_id"], unique=False
        )

    op.create_table(
        "dispute",
        sa.Column("id", sa.String(length=36), nullable=False),
        sa.Column("subject_id", sa.Integer(), nullable=False),
        sa.Column("organisation_id", sa.Integer(), nullable=False),
        sa.Column("flag_id", sa.String(length=36), nullable=True),
        sa.Column("reason", sa.Text(), nullable=False),
        sa.Column("status", sa.String(length=16), nullable=False),
        sa.Column("note", sa.Text(), nullable=True),
        sa.Column("resolved_by", sa.String(length=32), nullable=True),
        sa.Column("due_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("resolved_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("version", sa.Integer(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(["flag_id"], ["flag.id"], name=op.f("fk_dispute_flag_id_flag")),
        sa.ForeignKeyConstraint(
            ["organisation_id"],
            ["organisation.id"],
            name=op.f("fk_dispute_organisation_id_organisation"),
        ),
        sa.ForeignKeyConstraint(
            ["subject_id"], ["subject.id"], name=op.f("fk_dispute_subject_id_subject")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_dispute")),
    )
    with op.batch_alter_table("dispute", schema=None) as batch_op:
        batch_op.create_index("ix_dispute_status_due", ["status", "due_at"], unique=False)
        batch_op.create_index(batch_op.f("ix_dispute_subject_id"), ["subject_id"], unique=False)


def downgrade() -> None:
    with op.batch_alter_table("dispute", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_dispute_subject_id"))
        batch_op.drop_index("ix_dispute_status_due")

    op.drop_table("dispute")
    with op.batch_alter_table("recovery_entry", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_recovery_entry_subject_id"))
        batch_op.drop_index(batch_op.f("ix_recovery_entry_case_reference"))

    op.drop_table("recovery_entry")
