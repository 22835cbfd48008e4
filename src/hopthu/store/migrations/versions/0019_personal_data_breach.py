"""personal_data_breach: breaches of personal data and their 72-hour notification (R13.6)

Revision ID: 0019_personal_data_breach
Revises: 0018_access_log
Create Date: 2026-12-03 12:00:00
"""

import sqlalchemy as sa
from alembic import op

revision = "0019_personal_data_breach"
down_revision = "0018_access_log"
branch_labels = None
depends_on = None

Timestamp = sa.DateTime(timezone=True)


def upgrade() -> None:
    op.create_table(
        "personal_data_breach",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("discovered_at", Timestamp, nullable=False),
        sa.Column("description", sa.Text(), nullable=False),
        sa.Column("affected", sa.Text(), nullable=False, server_default=""),
        sa.Column("affected_count", sa.Integer(), nullable=False, server_default="0"),
        sa.Column("recorded_by", sa.String(200), nullable=False),
        sa.Column("recorded_at", Timestamp, nullable=False),
        sa.Column("reported_at", Timestamp, nullable=True),
        sa.Column("closed_at", Timestamp, nullable=True),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_personal_data_breach")),
    )


def downgrade() -> None:
    op.drop_table("personal_data_breach")
