"""search text once: one `body_text` row per stored body, in a full-text index; `message.search_text` goes

SQLite: an FTS5 table with the trigram tokenizer over `body_text` (external content, kept by
triggers). PostgreSQL: the `pg_trgm` extension and a GIN trigram index on `body_text.text`. The text
of each body already stored moves over once (one row per distinct `message.blob_hash`).

Revision ID: 0013_search_text_once
Revises: 0012_protection
Create Date: 2026-12-02 11:50:00
"""

import sqlalchemy as sa
from alembic import op

revision = "0013_search_text_once"
down_revision = "0012_protection"
branch_labels = None
depends_on = None

SQLITE_INDEX = (
    "CREATE VIRTUAL TABLE body_text_index USING fts5(text, content='body_text', content_rowid='id', "
    "tokenize='trigram', detail='full')",
    "CREATE TRIGGER body_text_ai AFTER INSERT ON body_text BEGIN "
    "INSERT INTO body_text_index(rowid, text) VALUES (new.id, new.text); END",
    "CREATE TRIGGER body_text_ad AFTER DELETE ON body_text BEGIN "
    "INSERT INTO body_text_index(body_text_index, rowid, text) VALUES ('delete', old.id, old.text); END",
)


def upgrade() -> None:
    postgresql = op.get_bind().dialect.name == "postgresql"
    if postgresql:
        op.execute("CREATE EXTENSION IF NOT EXISTS pg_trgm")
    op.create_table(
        "body_text",
        sa.Column("id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=False),
        sa.Column("hash", sa.String(64), nullable=False),
        sa.Column("text", sa.Text(), nullable=False),
        sa.ForeignKeyConstraint(
            ["hash"], ["blob.hash"], name=op.f("fk_body_text_hash_blob"), ondelete="CASCADE"
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_body_text")),
        sa.UniqueConstraint("hash", name=op.f("uq_body_text_hash")),
    )
    if not postgresql:
        for statement in SQLITE_INDEX:
            op.execute(statement)
    op.execute(
        "INSERT INTO body_text (hash, text) "
        "SELECT blob_hash, MAX(search_text) FROM message GROUP BY blob_hash ORDER BY blob_hash"
    )
    if postgresql:  # built after the copy: one pass instead of one insertion per row
        op.execute("CREATE INDEX ix_body_text_text_trgm ON body_text USING gin (text gin_trgm_ops)")
    with op.batch_alter_table("message") as batch:
        batch.drop_column("search_text")


def downgrade() -> None:
    with op.batch_alter_table("message") as batch:
        batch.add_column(sa.Column("search_text", sa.Text(), server_default="", nullable=False))
    op.execute(
        "UPDATE message SET search_text = COALESCE("
        "(SELECT text FROM body_text WHERE body_text.hash = message.blob_hash), '')"
    )
    if op.get_bind().dialect.name != "postgresql":
        op.execute("DROP TRIGGER body_text_ad")
        op.execute("DROP TRIGGER body_text_ai")
        op.execute("DROP TABLE body_text_index")
    op.drop_table("body_text")
