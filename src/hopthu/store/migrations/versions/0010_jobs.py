"""the jobs' runs, the notices they sent, and when a mailbox's data was purged

Revision ID: 0010_jobs
Revises: 0009_traffic_day
Create Date: 2026-11-29 05:20:00
"""

import sqlalchemy as sa
from alembic import op

revision = "0010_jobs"
down_revision = "0009_traffic_day"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "job_run",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("job", sa.String(length=64), nullable=False),
        sa.Column("slot", sa.String(length=32), nullable=False),
        sa.Column("node", sa.String(length=200), nullable=False),
        sa.Column("started_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("finished_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("status", sa.String(length=16), nullable=False),
        sa.Column("summary", sa.JSON(), nullable=True),
        sa.Column("error", sa.Text(), nullable=True),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_job_run")),
    )
    op.create_index("ix_job_run_job_started_at", "job_run", ["job", "started_at"])
    op.create_table(
        "notice",
        sa.Column("account_id", sa.Integer(), nullable=False),
        sa.Column("kind", sa.String(length=32), nullable=False),
        sa.Column("key", sa.String(length=64), nullable=False),
        sa.Column("sent_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(["account_id"], ["account.id"], name=op.f("fk_notice_account_id_account")),
        sa.PrimaryKeyConstraint("account_id", "kind", "key", name=op.f("pk_notice")),
    )
    with op.batch_alter_table("account") as batch:
        batch.add_column(sa.Column("purged_at", sa.DateTime(timezone=True), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("account") as batch:
        batch.drop_column("purged_at")
    op.drop_table("notice")
    op.drop_index("ix_job_run_job_started_at", "job_run")
    op.drop_table("job_run")
