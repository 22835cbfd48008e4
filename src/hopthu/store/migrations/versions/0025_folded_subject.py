"""message.folded_subject: the whole subject folded where its sort key is not all of it, so that
IMAP SEARCH SUBJECT is answered in SQL, from the index that sorts by subject

Revision ID: 0025_folded_subject
Revises: 0024_account_job_title
Create Date: 2026-12-04 12:30:00
"""

import sqlalchemy as sa
from alembic import op

from hopthu.mail.sortkeys import folded_subject

revision = "0025_folded_subject"
down_revision = "0024_account_job_title"
branch_labels = None
depends_on = None

_BATCH = 2000


def upgrade() -> None:
    # Nullable without a default: added in place on both SQLite and PostgreSQL, NULL for most rows.
    op.add_column("message", sa.Column("folded_subject", sa.Text(), nullable=True))
    _fill()
    # The index that sorts by subject holds it too: a subject search reads that index alone.
    op.drop_index("ix_message_mailbox_id_sort_subject", "message")
    op.create_index(
        "ix_message_mailbox_id_sort_subject",
        "message",
        ["mailbox_id", "sort_subject", "uid", "folded_subject"],
    )


def downgrade() -> None:
    op.drop_index("ix_message_mailbox_id_sort_subject", "message")
    op.create_index("ix_message_mailbox_id_sort_subject", "message", ["mailbox_id", "sort_subject", "uid"])
    with op.batch_alter_table("message") as batch:
        batch.drop_column("folded_subject")


def _fill() -> None:
    """Fold the subjects already stored, a batch at a time in id order, against the sort key each
    row holds (the key the search will look in beside it)."""
    bind = op.get_bind()
    rows = sa.table("message", sa.column("id"), sa.column("subject"), sa.column("sort_subject"))
    update = sa.text("UPDATE message SET folded_subject = :folded WHERE id = :id")
    last = 0
    while True:
        batch = bind.execute(
            sa.select(rows.c.id, rows.c.subject, rows.c.sort_subject)
            .where(rows.c.id > last)
            .order_by(rows.c.id)
            .limit(_BATCH)
        ).all()
        if not batch:
            return
        changed = [
            {"id": i, "folded": folded}
            for i, subject, key in batch
            if (folded := folded_subject(subject, key)) is not None
        ]
        if changed:
            bind.execute(update, changed)
        last = batch[-1][0]
