"""administrators' second factor (TOTP) and its proof on a web session

Revision ID: 0007_admin_factor
Revises: 0006_sort_keys
Create Date: 2026-11-29 03:40:00
"""

import sqlalchemy as sa
from alembic import op

revision = "0007_admin_factor"
down_revision = "0006_sort_keys"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "admin_factor",
        sa.Column("account_id", sa.Integer(), nullable=False),
        sa.Column("secret", sa.Text(), nullable=False),
        sa.Column("confirmed_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("last_step", sa.BigInteger(), server_default="0", nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["account_id"], ["account.id"], name=op.f("fk_admin_factor_account_id_account")
        ),
        sa.PrimaryKeyConstraint("account_id", name=op.f("pk_admin_factor")),
    )
    with op.batch_alter_table("web_session") as batch:
        batch.add_column(sa.Column("second_factor_at", sa.DateTime(timezone=True), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("web_session") as batch:
        batch.drop_column("second_factor_at")
    op.drop_table("admin_factor")
