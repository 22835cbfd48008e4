"""mail counted per day and agency

Revision ID: 0009_traffic_day
Revises: 0008_api_token
Create Date: 2026-11-29 05:00:00
"""

import sqlalchemy as sa
from alembic import op

revision = "0009_traffic_day"
down_revision = "0008_api_token"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "traffic_day",
        sa.Column("day", sa.Date(), nullable=False),
        sa.Column("agency_id", sa.Integer(), nullable=False),
        sa.Column("received", sa.BigInteger(), server_default="0", nullable=False),
        sa.Column("sent", sa.BigInteger(), server_default="0", nullable=False),
        sa.Column("blocked", sa.BigInteger(), server_default="0", nullable=False),
        sa.PrimaryKeyConstraint("day", "agency_id", name=op.f("pk_traffic_day")),
    )


def downgrade() -> None:
    op.drop_table("traffic_day")
