"""archive_import: a person's import of mail from a file through the webmail, its progress (R13.7)

Revision ID: 0020_archive_import
Revises: 0019_personal_data_breach
Create Date: 2026-12-10 12:00:00
"""

import sqlalchemy as sa
from alembic import op

revision = "0020_archive_import"
down_revision = "0019_personal_data_breach"
branch_labels = None
depends_on = None

Timestamp = sa.DateTime(timezone=True)


def upgrade() -> None:
    op.create_table(
        "archive_import",
        sa.Column("account_id", sa.Integer(), nullable=False),
        sa.Column("state", sa.String(16), nullable=False),
        sa.Column("file_name", sa.String(300), nullable=False),
        sa.Column("started_at", Timestamp, nullable=False),
        sa.Column("updated_at", Timestamp, nullable=False),
        sa.Column("total", sa.Integer(), nullable=False, server_default="0"),
        sa.Column("done", sa.Integer(), nullable=False, server_default="0"),
        sa.Column("summary", sa.JSON(), nullable=True),
        sa.Column("error_vi", sa.Text(), nullable=True),
        sa.Column("error_en", sa.Text(), nullable=True),
        sa.ForeignKeyConstraint(
            ["account_id"], ["account.id"], name=op.f("fk_archive_import_account_id_account")
        ),
        sa.PrimaryKeyConstraint("account_id", name=op.f("pk_archive_import")),
    )


def downgrade() -> None:
    op.drop_table("archive_import")
