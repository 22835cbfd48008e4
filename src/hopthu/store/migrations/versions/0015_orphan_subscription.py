"""Subscriptions to names that have no mailbox (RFC 9051 §6.3.7)

Revision ID: 0015_orphan_subscription
Revises: 0014_imap_recent
Create Date: 2026-12-02 16:00:00
"""

import sqlalchemy as sa
from alembic import op

revision = "0015_orphan_subscription"
down_revision = "0014_imap_recent"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "orphan_subscription",
        sa.Column("account_id", sa.Integer(), sa.ForeignKey("account.id"), nullable=False),
        sa.Column("name", sa.String(500), nullable=False),
        sa.PrimaryKeyConstraint("account_id", "name"),
    )


def downgrade() -> None:
    op.drop_table("orphan_subscription")
