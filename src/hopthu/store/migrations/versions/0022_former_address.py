"""former_address, former_notice: the former provinces' addresses per person (R13.7)

Revision ID: 0022_former_address
Revises: 0021_mailbox_import
Create Date: 2026-12-10 12:00:00
"""

import sqlalchemy as sa
from alembic import op

revision = "0022_former_address"
down_revision = "0021_mailbox_import"
branch_labels = None
depends_on = None

Timestamp = sa.DateTime(timezone=True)


def upgrade() -> None:
    op.create_table(
        "former_address",
        sa.Column("address", sa.String(320), nullable=False),
        sa.Column("account_id", sa.Integer(), nullable=False),
        sa.Column("source", sa.String(32), nullable=False),
        sa.Column("reason", sa.Text(), nullable=True),
        sa.Column("created_at", Timestamp, nullable=False),
        sa.ForeignKeyConstraint(
            ["account_id"], ["account.id"], name=op.f("fk_former_address_account_id_account")
        ),
        sa.PrimaryKeyConstraint("address", name=op.f("pk_former_address")),
    )
    op.create_index(op.f("ix_former_address_account_id"), "former_address", ["account_id"])
    op.create_table(
        "former_notice",
        sa.Column("sender", sa.String(320), nullable=False),
        sa.Column("address", sa.String(320), nullable=False),
        sa.Column("told_at", Timestamp, nullable=False),
        sa.PrimaryKeyConstraint("sender", "address", name=op.f("pk_former_notice")),
    )


def downgrade() -> None:
    op.drop_table("former_notice")
    op.drop_index(op.f("ix_former_address_account_id"), table_name="former_address")
    op.drop_table("former_address")
