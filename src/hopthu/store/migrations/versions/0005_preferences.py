"""account preferences and out-of-office replies

Revision ID: 0005_preferences
Revises: 0004_web_session
Create Date: 2026-11-29 01:25:00
"""

import sqlalchemy as sa
from alembic import op

revision = "0005_preferences"
down_revision = "0004_web_session"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "account_preference",
        sa.Column("account_id", sa.Integer(), nullable=False),
        sa.Column("signature", sa.Text(), server_default="", nullable=False),
        sa.Column("vacation_on", sa.Boolean(), server_default=sa.false(), nullable=False),
        sa.Column("vacation_subject", sa.String(length=300), server_default="", nullable=False),
        sa.Column("vacation_text", sa.Text(), server_default="", nullable=False),
        sa.Column("vacation_until", sa.Date(), nullable=True),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["account_id"], ["account.id"], name=op.f("fk_account_preference_account_id_account")
        ),
        sa.PrimaryKeyConstraint("account_id", name=op.f("pk_account_preference")),
    )
    op.create_table(
        "vacation_reply",
        sa.Column("account_id", sa.Integer(), nullable=False),
        sa.Column("sender", sa.String(length=320), nullable=False),
        sa.Column("replied_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["account_id"], ["account.id"], name=op.f("fk_vacation_reply_account_id_account")
        ),
        sa.PrimaryKeyConstraint("account_id", "sender", name=op.f("pk_vacation_reply")),
    )


def downgrade() -> None:
    op.drop_table("vacation_reply")
    op.drop_table("account_preference")
