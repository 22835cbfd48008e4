"""account.job_title: a person's job title (chức vụ), shown in the address book and its vCards

Revision ID: 0024_account_job_title
Revises: 0023_app_password
Create Date: 2026-12-15 12:00:00
"""

import sqlalchemy as sa
from alembic import op

revision = "0024_account_job_title"
down_revision = "0023_app_password"
branch_labels = None
depends_on = None


def upgrade() -> None:
    # Nullable and without a default, so the column is added in place on both SQLite and PostgreSQL;
    # accounts registered before it simply have no title.
    op.add_column("account", sa.Column("job_title", sa.String(100), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("account") as batch:
        batch.drop_column("job_title")
