"""folded sort keys for the webmail's sortable message list

Revision ID: 0006_sort_keys
Revises: 0005_preferences
Create Date: 2026-11-29 02:50:00
"""

import sqlalchemy as sa
from alembic import op

from hopthu.mail.sortkeys import sender_key, subject_key

revision = "0006_sort_keys"
down_revision = "0005_preferences"
branch_labels = None
depends_on = None

_BATCH = 2000


def upgrade() -> None:
    op.add_column("message", sa.Column("sort_sender", sa.Text(), server_default="", nullable=False))
    op.add_column("message", sa.Column("sort_subject", sa.Text(), server_default="", nullable=False))
    _fill_keys()
    op.create_index("ix_message_mailbox_id_sort_sender", "message", ["mailbox_id", "sort_sender", "uid"])
    op.create_index("ix_message_mailbox_id_sort_subject", "message", ["mailbox_id", "sort_subject", "uid"])
    op.create_index("ix_message_mailbox_id_size", "message", ["mailbox_id", "size", "uid"])


def downgrade() -> None:
    op.drop_index("ix_message_mailbox_id_size", "message")
    op.drop_index("ix_message_mailbox_id_sort_subject", "message")
    op.drop_index("ix_message_mailbox_id_sort_sender", "message")
    op.drop_column("message", "sort_subject")
    op.drop_column("message", "sort_sender")


def _fill_keys() -> None:
    """Compute the keys of the messages already stored, a batch at a time in id order."""
    bind = op.get_bind()
    rows = sa.table("message", sa.column("id"), sa.column("subject"), sa.column("sender"))
    update = sa.text("UPDATE message SET sort_sender = :sender, sort_subject = :subject WHERE id = :id")
    last = 0
    while True:
        batch = bind.execute(
            sa.select(rows.c.id, rows.c.subject, rows.c.sender)
            .where(rows.c.id > last)
            .order_by(rows.c.id)
            .limit(_BATCH)
        ).all()
        if not batch:
            return
        keys = [{"id": i, "sender": sender_key(who), "subject": subject_key(what)} for i, what, who in batch]
        bind.execute(update, keys)
        last = batch[-1][0]
