"""app_password: a person's passwords for mail programs, kept as keyed hashes

Revision ID: 0023_app_password
Revises: 0022_former_address
Create Date: 2026-12-14 12:00:00
"""

import sqlalchemy as sa
from alembic import op

revision = "0023_app_password"
down_revision = "0022_former_address"
branch_labels = None
depends_on = None

Timestamp = sa.DateTime(timezone=True)


def upgrade() -> None:
    op.create_table(
        "app_password",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("account_id", sa.Integer(), nullable=False),
        sa.Column("name", sa.String(60), nullable=False),
        sa.Column("secret_hash", sa.String(64), nullable=False),
        sa.Column("created_at", Timestamp, nullable=False),
        sa.Column("last_used_at", Timestamp, nullable=True),
        sa.Column("last_used_from", sa.String(64), server_default="", nullable=False),
        sa.ForeignKeyConstraint(
            ["account_id"], ["account.id"], name=op.f("fk_app_password_account_id_account")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_app_password")),
        sa.UniqueConstraint("account_id", "name", name=op.f("uq_app_password_account_id_name")),
        sa.UniqueConstraint("secret_hash", name=op.f("uq_app_password_secret_hash")),
    )
    op.create_index(op.f("ix_app_password_account_id"), "app_password", ["account_id"])


def downgrade() -> None:
    op.drop_index(op.f("ix_app_password_account_id"), table_name="app_password")
    op.drop_table("app_password")
