"""a day's picture of the mailboxes per agency

Revision ID: 0011_daily_stats
Revises: 0010_jobs
Create Date: 2026-11-29 05:40:00
"""

import sqlalchemy as sa
from alembic import op

revision = "0011_daily_stats"
down_revision = "0010_jobs"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "daily_stats",
        sa.Column("day", sa.Date(), nullable=False),
        sa.Column("agency_id", sa.Integer(), nullable=False),
        sa.Column("active", sa.Integer(), server_default="0", nullable=False),
        sa.Column("locked", sa.Integer(), server_default="0", nullable=False),
        sa.Column("revoked", sa.Integer(), server_default="0", nullable=False),
        sa.Column("deleted", sa.Integer(), server_default="0", nullable=False),
        sa.Column("used_bytes", sa.BigInteger(), server_default="0", nullable=False),
        sa.PrimaryKeyConstraint("day", "agency_id", name=op.f("pk_daily_stats")),
    )


def downgrade() -> None:
    op.drop_table("daily_stats")
