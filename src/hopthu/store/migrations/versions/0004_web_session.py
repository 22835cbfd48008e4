"""web sessions

Revision ID: 0004_web_session
Revises: 0003_uidvalidity_floor
Create Date: 2026-11-29 01:10:00
"""

import sqlalchemy as sa
from alembic import op

revision = "0004_web_session"
down_revision = "0003_uidvalidity_floor"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "web_session",
        sa.Column("id", sa.String(length=64), nullable=False),
        sa.Column("account_id", sa.Integer(), nullable=False),
        sa.Column("public", sa.Boolean(), server_default=sa.false(), nullable=False),
        sa.Column("must_change_password", sa.Boolean(), server_default=sa.false(), nullable=False),
        sa.Column("user_agent", sa.String(length=300), server_default="", nullable=False),
        sa.Column("address", sa.String(length=64), server_default="", nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("last_seen_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("ended_at", sa.DateTime(timezone=True), nullable=True),
        sa.ForeignKeyConstraint(
            ["account_id"], ["account.id"], name=op.f("fk_web_session_account_id_account")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_web_session")),
    )
    op.create_index(op.f("ix_web_session_account_id"), "web_session", ["account_id"], unique=False)


def downgrade() -> None:
    op.drop_index(op.f("ix_web_session_account_id"), table_name="web_session")
    op.drop_table("web_session")
