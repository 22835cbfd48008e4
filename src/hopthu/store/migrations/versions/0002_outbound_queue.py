"""outbound queue

Revision ID: 0002_outbound_queue
Revises: 0001_initial
Create Date: 2026-11-28 21:54:31.324149
"""

import sqlalchemy as sa
from alembic import op

revision = "0002_outbound_queue"
down_revision = "0001_initial"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "queue_item",
        sa.Column("id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=False),
        sa.Column("blob_hash", sa.String(length=64), nullable=False),
        sa.Column("prefix", sa.LargeBinary(), nullable=True),
        sa.Column("sender", sa.String(length=320), nullable=False),
        sa.Column("recipient", sa.String(length=320), nullable=False),
        sa.Column("domain", sa.String(length=255), nullable=False),
        sa.Column("account_id", sa.Integer(), nullable=True),
        sa.Column("status", sa.String(length=16), server_default="queued", nullable=False),
        sa.Column("attempts", sa.Integer(), server_default="0", nullable=False),
        sa.Column("next_attempt_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("lease_until", sa.DateTime(timezone=True), nullable=True),
        sa.Column("last_error", sa.Text(), nullable=True),
        sa.Column("delay_notified", sa.Boolean(), server_default=sa.false(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("finished_at", sa.DateTime(timezone=True), nullable=True),
        sa.ForeignKeyConstraint(
            ["account_id"], ["account.id"], name=op.f("fk_queue_item_account_id_account")
        ),
        sa.ForeignKeyConstraint(["blob_hash"], ["blob.hash"], name=op.f("fk_queue_item_blob_hash_blob")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_queue_item")),
    )
    with op.batch_alter_table("queue_item", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_queue_item_account_id"), ["account_id"], unique=False)
        batch_op.create_index(batch_op.f("ix_queue_item_blob_hash"), ["blob_hash"], unique=False)
        batch_op.create_index(
            "ix_queue_item_status_next_attempt_at", ["status", "next_attempt_at"], unique=False
        )


def downgrade() -> None:
    with op.batch_alter_table("queue_item", schema=None) as batch_op:
        batch_op.drop_index("ix_queue_item_status_next_attempt_at")
        batch_op.drop_index(batch_op.f("ix_queue_item_blob_hash"))
        batch_op.drop_index(batch_op.f("ix_queue_item_account_id"))

    op.drop_table("queue_item")
