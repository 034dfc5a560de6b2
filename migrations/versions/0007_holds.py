"""hold requests between institutions

Revision ID: 0007
Revises: 0006
Create Date: 2026-12-04 19:00:00

A victim's bank (or police) asks the institution holding the receiving account to hold an
amount; police confirm within a deadline or the hold lapses (SPEC §10).
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0007"
down_revision = "0006"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "hold",
        sa.Column("id", sa.String(length=36), nullable=False),
        sa.Column("subject_id", sa.Integer(), nullable=False),
        sa.Column("requester_id", sa.Integer(), nullable=False),
        sa.Column("holder_id", sa.Integer(), nullable=False),
        sa.Column("status", sa.String(length=16), nullable=False),
        sa.Column("amount_vnd", sa.BigInteger(), nullable=False),
        sa.Column("held_vnd", sa.BigInteger(), nullable=False),
        sa.Column("released_vnd", sa.BigInteger(), nullable=False),
        sa.Column("returned_vnd", sa.BigInteger(), nullable=False),
        sa.Column("reason", sa.Text(), nullable=False),
        sa.Column("case_reference", sa.String(length=100), nullable=True),
        sa.Column("ledger_case", sa.String(length=100), nullable=True),
        sa.Column("transfer_reference", sa.String(length=100), nullable=True),
        sa.Column("transferred_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("outcome", sa.String(length=16), nullable=True),
        sa.Column("respond_by", sa.DateTime(timezone=True), nullable=False),
        sa.Column("confirm_by", sa.DateTime(timezone=True), nullable=False),
        sa.Column("responded_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("confirmed_by", sa.String(length=32), nullable=True),
        sa.Column("confirmed_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("version", sa.Integer(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["holder_id"], ["organisation.id"], name=op.f("fk_hold_holder_id_organisation")
        ),
        sa.ForeignKeyConstraint(
            ["requester_id"], ["organisation.id"], name=op.f("fk_hold_requester_id_organisation")
        ),
        sa.ForeignKeyConstraint(
            ["subject_id"], ["subject.id"], name=op.f("fk_hold_subject_id_subject")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_hold")),
    )
    op.create_index(op.f("ix_hold_subject_id"), "hold", ["subject_id"], unique=False)
    op.create_index(op.f("ix_hold_requester_id"), "hold", ["requester_id"], unique=False)
    op.create_index(op.f("ix_hold_holder_id"), "hold", ["holder_id"], unique=False)
    op.create_index("ix_hold_status_confirm_by", "hold", ["status", "confirm_by"], unique=False)


def downgrade() -> None:
    op.drop_index("ix_hold_status_confirm_by", table_name="hold")
    op.drop_index(op.f("ix_hold_holder_id"), table_name="hold")
    op.drop_index(op.f("ix_hold_requester_id"), table_name="hold")
    op.drop_index(op.f("ix_hold_subject_id"), table_name="hold")
    op.drop_table("hold")
