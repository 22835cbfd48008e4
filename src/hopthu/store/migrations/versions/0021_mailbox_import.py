"""mailbox_import: runs, mailboxes, folder checkpoints and skips of imports from former servers (R13.7)

Revision ID: 0021_mailbox_import
Revises: 0020_archive_import
Create Date: 2026-12-03 15:00:00
"""

import sqlalchemy as sa
from alembic import op

revision = "0021_mailbox_import"
down_revision = "0020_archive_import"
branch_labels = None
depends_on = None

Timestamp = sa.DateTime(timezone=True)
Big = sa.BigInteger()


def upgrade() -> None:
    op.create_table(
        "import_run",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("plan", sa.String(500), nullable=False),
        sa.Column("digest", sa.String(64), nullable=False),
        sa.Column("status", sa.String(16), nullable=False),
        sa.Column("actor", sa.String(200), nullable=False),
        sa.Column("started_at", Timestamp, nullable=False),
        sa.Column("finished_at", Timestamp, nullable=True),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_import_run")),
    )
    op.create_index(op.f("ix_import_run_digest"), "import_run", ["digest"])
    op.create_table(
        "import_mailbox",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("run_id", sa.Integer(), nullable=False),
        sa.Column("line", sa.Integer(), nullable=False),
        sa.Column("source", sa.String(600), nullable=False),
        sa.Column("old_address", sa.String(320), nullable=False),
        sa.Column("new_address", sa.String(320), nullable=False),
        sa.Column("account_id", sa.Integer(), nullable=True),
        sa.Column("status", sa.String(16), nullable=False),
        sa.Column("source_messages", Big, nullable=False, server_default="0"),
        sa.Column("source_bytes", Big, nullable=False, server_default="0"),
        sa.Column("messages", Big, nullable=False, server_default="0"),
        sa.Column("bytes", Big, nullable=False, server_default="0"),
        sa.Column("error", sa.Text(), nullable=True),
        sa.Column("started_at", Timestamp, nullable=True),
        sa.Column("finished_at", Timestamp, nullable=True),
        sa.ForeignKeyConstraint(
            ["run_id"], ["import_run.id"], name=op.f("fk_import_mailbox_run_id_import_run")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_import_mailbox")),
    )
    op.create_index(op.f("ix_import_mailbox_run_id"), "import_mailbox", ["run_id"])
    op.create_table(
        "import_folder",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("account_id", sa.Integer(), nullable=False),
        sa.Column("source", sa.String(600), nullable=False),
        sa.Column("source_name", sa.String(1000), nullable=False),
        sa.Column("target_name", sa.String(1000), nullable=False),
        sa.Column("uidvalidity", Big, nullable=False),
        sa.Column("last_uid", Big, nullable=False, server_default="0"),
        sa.Column("target_mark", Big, nullable=False, server_default="0"),
        sa.Column("source_messages", Big, nullable=False, server_default="0"),
        sa.Column("source_bytes", Big, nullable=False, server_default="0"),
        sa.Column("messages", Big, nullable=False, server_default="0"),
        sa.Column("bytes", Big, nullable=False, server_default="0"),
        sa.Column("updated_at", Timestamp, nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_import_folder")),
        sa.UniqueConstraint(
            "account_id", "source", "source_name", name=op.f("uq_import_folder_account_id_source_source_name")
        ),
    )
    op.create_table(
        "import_skip",
        sa.Column("id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=False),
        sa.Column("mailbox_id", sa.Integer(), nullable=False),
        sa.Column("folder", sa.String(1000), nullable=False),
        sa.Column("uid", Big, nullable=False),
        sa.Column("size", Big, nullable=False, server_default="0"),
        sa.Column("reason", sa.String(32), nullable=False),
        sa.Column("detail", sa.Text(), nullable=False, server_default=""),
        sa.ForeignKeyConstraint(
            ["mailbox_id"], ["import_mailbox.id"], name=op.f("fk_import_skip_mailbox_id_import_mailbox")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_import_skip")),
    )
    op.create_index(op.f("ix_import_skip_mailbox_id"), "import_skip", ["mailbox_id"])


def downgrade() -> None:
    op.drop_table("import_skip")
    op.drop_table("import_folder")
    op.drop_table("import_mailbox")
    op.drop_table("import_run")
