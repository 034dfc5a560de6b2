"""warnings and lookup counts

Revision ID: 0003
Revises: 0002
Create Date: 2026-11-28 13:15:54.201903
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0003"
down_revision = "0002"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "lookup_count",
        sa.Column("organisation_id", sa.Integer(), nullable=False),
        sa.Column("day", sa.Date(), nullable=False),
        sa.Column("lookups", sa.BigInteger(), nullable=False),
        sa.Column("warned", sa.BigInteger(), nullable=False),
        sa.ForeignKeyConstraint(
            ["organisation_id"],
            ["organisation.id"],
            name=op.f("fk_lookup_count_organisation_id_organisation"),
        ),
        sa.PrimaryKeyConstraint("organisation_id", "day", name=op.f("pk_lookup_count")),
    )
    op.create_table(
        "warning",
        sa.Column("id", sa.String(length=36), nullable=False),
        sa.Column("organisation_id", sa.Integer(), nullable=False),
        sa.Column("subject_key", sa.String(length=160), nullable=False),
        sa.Column("risk_level", sa.Integer(), nullable=False),
        sa.Column("action", sa.String(length=8), nullable=False),
        sa.Column("registry_version", sa.BigInteger(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("outcome", sa.String(length=16), nullable=True),
        sa.Column("amount_vnd", sa.BigInteger(), nullable=True),
        sa.Column("outcome_at", sa.DateTime(timezone=True), nullable=True),
        sa.ForeignKeyConstraint(
            ["organisation_id"],
            ["organisation.id"],
            name=op.f("fk_warning_organisation_id_organisation"),
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_warning")),
    )
    with op.batch_alter_table("warning", schema=None) as batch_op:
        batch_op.create_index("ix_warning_created", ["created_at"], unique=False)
        batch_op.create_index(
            "ix_warning_org_created", ["organisation_id", "created_at"], unique=False
        )


def downgrade() -> None:
    with op.batch_alter_table("warning", schema=None) as batch_op:
        batch_op.drop_index("ix_warning_org_created")
        batch_op.drop_index("ix_warning_created")

    op.drop_table("warning")
    op.drop_table("lookup_count")
