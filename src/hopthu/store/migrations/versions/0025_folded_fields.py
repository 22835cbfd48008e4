"""message.folded_subject and message.folded_from: the subject and the From field folded at delivery,
so that IMAP SEARCH SUBJECT and FROM are answered in SQL, each from the index that sorts by it

Revision ID: 0025_folded_fields
Revises: 0024_account_job_title
Create Date: 2026-12-04 12:30:00
"""

import sqlalchemy as sa
from alembic import op

from hopthu.mail.envelope import searched_text
from hopthu.mail.sortkeys import folded_subject

revision = "0025_folded_fields"
down_revision = "0024_account_job_title"
branch_labels = None
depends_on = None

_BATCH = 2000
_INDEXES = {
    "ix_message_mailbox_id_sort_sender": ("sort_sender", "folded_from"),
    "ix_message_mailbox_id_sort_subject": ("sort_subject", "folded_subject"),
}


def upgrade() -> None:
    # Nullable without a default: added in place on both SQLite and PostgreSQL.
    op.add_column("message", sa.Column("folded_subject", sa.Text(), nullable=True))
    op.add_column("message", sa.Column("folded_from", sa.Text(), nullable=True))
    _fill()
    # The indexes that sort by sender and by subject hold the folded field too: a search reads one.
    for name, (key, folded) in _INDEXES.items():
        op.drop_index(name, "message")
        op.create_index(name, "message", ["mailbox_id", key, "uid", folded])


def downgrade() -> None:
    for name, (key, _folded) in _INDEXES.items():
        op.drop_index(name, "message")
        op.create_index(name, "message", ["mailbox_id", key, "uid"])
    with op.batch_alter_table("message") as batch:
        batch.drop_column("folded_from")
        batch.drop_column("folded_subject")


def _fill() -> None:
    """Fold the fields of the messages already stored, a batch at a time in id order; the subject
    against the sort key each row holds (the key the search looks in beside it)."""
    bind = op.get_bind()
    rows = sa.table(
        "message",
        sa.column("id"),
        sa.column("subject"),
        sa.column("sort_subject"),
        sa.column("envelope", sa.JSON),
    )
    update = sa.text("UPDATE message SET folded_subject = :subject, folded_from = :sender WHERE id = :id")
    last = 0
    while True:
        batch = bind.execute(
            sa.select(rows.c.id, rows.c.subject, rows.c.sort_subject, rows.c.envelope)
            .where(rows.c.id > last)
            .order_by(rows.c.id)
            .limit(_BATCH)
        ).all()
        if not batch:
            return
        folded = [
            {
                "id": i,
                "subject": folded_subject(subject, key),
                "sender": searched_text((envelope or {}).get("from")),
            }
            for i, subject, key, envelope in batch
        ]
        bind.execute(update, folded)
        last = batch[-1][0]
