"""access_event: every sign-in, refused or not, and every delegate's opening of an agency mailbox

R13.4 and R13.6 ask who accessed a mailbox and when, from where and with what, kept 12 months.

Revision ID: 0018_access_log
Revises: 0017_signature_html
Create Date: 2026-12-03 12:00:00
"""

import sqlalchemy as sa
from alembic import op

revision = "0018_access_log"
down_revision = "0017_signature_html"
branch_labels = None
depends_on = None

Timestamp = sa.DateTime(timezone=True)


def upgrade() -> None:
    op.create_table(
        "access_event",
        sa.Column("id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=False),
        sa.Column("at", Timestamp, nullable=False),
        sa.Column("account_id", sa.Integer(), nullable=True),
        sa.Column("login", sa.String(length=320), server_default="", nullable=False),
        sa.Column("protocol", sa.String(length=12), nullable=False),
        sa.Column("source", sa.String(length=64), server_default="", nullable=False),
        sa.Column("client", sa.String(length=200), server_default="", nullable=False),
        sa.Column("result", sa.String(length=24), nullable=False),
        sa.Column("mailbox_id", sa.Integer(), nullable=True),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_access_event")),
    )
    op.create_index(op.f("ix_access_event_at"), "access_event", ["at"])
    op.create_index("ix_access_event_account_id_at", "access_event", ["account_id", "at"])
    op.create_index(
        "ix_access_event_account_id_source_client", "access_event", ["account_id", "source", "client"]
    )
    op.create_index("ix_access_event_mailbox_id", "access_event", ["mailbox_id"])
    op.create_index("ix_access_event_login", "access_event", ["login"])


def downgrade() -> None:
    op.drop_table("access_event")
