"""public portal: citizen reports, police bulletins, public check counts

Revision ID: 0008
Revises: 0007
Create Date: 2026-12-04 19:00:00

The public portal (SPEC §13): scams reported by citizens into a police review queue,
bulletins police publish about new scam methods, and public checks counted per day apart
from member lookups.
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0008"
down_revision = "0007"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "citizen_report",
        sa.Column("id", sa.String(length=36), nullable=False),
        sa.Column("reference", sa.String(length=16), nullable=False),
        sa.Column("subject_key", sa.String(length=160), nullable=False),
        sa.Column("subject_kind", sa.String(length=16), nullable=False),
        sa.Column("subject_institution", sa.String(length=16), nullable=True),
        sa.Column("subject_identifier", sa.String(length=64), nullable=False),
        sa.Column("amount_vnd", sa.BigInteger(), nullable=True),
        sa.Column("occurred_on", sa.Date(), nullable=True),
        sa.Column("description", sa.Text(), nullable=False),
        sa.Column("contact", sa.String(length=200), nullable=True),
        sa.Column("status", sa.String(length=16), nullable=False),
        sa.Column("flag_id", sa.String(length=36), nullable=True),
        sa.Column("reason", sa.Text(), nullable=True),
        sa.Column("version", sa.Integer(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_citizen_report")),
        sa.UniqueConstraint("reference", name=op.f("uq_citizen_report_reference")),
    )
    op.create_index("ix_citizen_report_status_created", "citizen_report", ["status", "created_at"])
    op.create_table(
        "bulletin",
        sa.Column("id", sa.String(length=36), nullable=False),
        sa.Column("organisation_id", sa.Integer(), nullable=False),
        sa.Column("title", sa.String(length=200), nullable=False),
        sa.Column("body", sa.Text(), nullable=False),
        sa.Column("category", sa.String(length=64), nullable=True),
        sa.Column("version", sa.Integer(), nullable=False),
        sa.Column("published_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["organisation_id"],
            ["organisation.id"],
            name=op.f("fk_bulletin_organisation_id_organisation"),
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_bulletin")),
    )
    op.create_index("ix_bulletin_published", "bulletin", ["published_at"])
    op.create_table(
        "public_check_count",
        sa.Column("day", sa.Date(), nullable=False),
        sa.Column("checks", sa.BigInteger(), nullable=False),
        sa.Column("listed", sa.BigInteger(), nullable=False),
        sa.PrimaryKeyConstraint("day", name=op.f("pk_public_check_count")),
    )


def downgrade() -> None:
    op.drop_table("public_check_count")
    op.drop_index("ix_bulletin_published", table_name="bulletin")
    op.drop_table("bulletin")
    op.drop_index("ix_citizen_report_status_created", table_name="citizen_report")
    op.drop_table("citizen_report")
