"""IMAP's \\Recent floor per mailbox and the Date header's own day per message

Revision ID: 0014_imap_recent
Revises: 0013_search_text_once
Create Date: 2026-12-02 12:00:00
"""

import datetime as dt

import sqlalchemy as sa
from alembic import op

from hopthu.mail.envelope import octets
from hopthu.mail.headers import parse_date, sent_day

revision = "0014_imap_recent"
down_revision = "0013_search_text_once"
branch_labels = None
depends_on = None

_BATCH = 2000


def upgrade() -> None:
    with op.batch_alter_table("mailbox") as batch:
        batch.add_column(sa.Column("recent_uid", sa.BigInteger(), server_default="1", nullable=False))
    # What is stored already is old news: no session will see it as \Recent.
    op.execute("UPDATE mailbox SET recent_uid = uidnext")
    with op.batch_alter_table("message") as batch:
        batch.add_column(sa.Column("sent_day", sa.Date(), nullable=True))
    _fill_sent_days()


def downgrade() -> None:
    with op.batch_alter_table("message") as batch:
        batch.drop_column("sent_day")
    with op.batch_alter_table("mailbox") as batch:
        batch.drop_column("recent_uid")


def _day(envelope: dict[str, object] | None, internal_date: dt.datetime) -> dt.date:
    raw = (envelope or {}).get("date")
    if internal_date.tzinfo is None:  # SQLite keeps no zone: stored in UTC
        internal_date = internal_date.replace(tzinfo=dt.UTC)
    return sent_day(parse_date(octets(raw)) if isinstance(raw, str) else None, internal_date)


def _fill_sent_days() -> None:
    """Read each stored message's Date from its envelope, a batch at a time in id order."""
    bind = op.get_bind()
    rows = sa.table(
        "message",
        sa.column("id"),
        sa.column("envelope", sa.JSON()),
        sa.column("internal_date", sa.DateTime(timezone=True)),
    )
    update = sa.text("UPDATE message SET sent_day = :day WHERE id = :id").bindparams(
        sa.bindparam("day", type_=sa.Date())
    )
    last = 0
    while True:
        batch = bind.execute(
            sa.select(rows.c.id, rows.c.envelope, rows.c.internal_date)
            .where(rows.c.id > last)
            .order_by(rows.c.id)
            .limit(_BATCH)
        ).all()
        if not batch:
            return
        bind.execute(update, [{"id": i, "day": _day(env, when)} for i, env, when in batch])
        last = batch[-1][0]
