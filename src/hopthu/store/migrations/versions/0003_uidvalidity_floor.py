"""UIDVALIDITY high-water mark per account

Revision ID: 0003_uidvalidity_floor
Revises: 0002_outbound_queue
Create Date: 2026-11-29 00:40:00
"""

import sqlalchemy as sa
from alembic import op

revision = "0003_uidvalidity_floor"
down_revision = "0002_outbound_queue"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("mail_usage") as batch:
        batch.add_column(sa.Column("last_uidvalidity", sa.BigInteger(), server_default="0", nullable=False))


def downgrade() -> None:
    with op.batch_alter_table("mail_usage") as batch:
        batch.drop_column("last_uidvalidity")
