"""protection: the mail log, quarantine, sender rules, DMARC tallies and reports, new counters

Revision ID: 0012_protection
Revises: 0011_daily_stats
Create Date: 2026-12-02 05:30:00
"""

import sqlalchemy as sa
from alembic import op

revision = "0012_protection"
down_revision = "0011_daily_stats"
branch_labels = None
depends_on = None

Timestamp = sa.DateTime(timezone=True)
COUNTERS = ("spam_refused", "spam_junk", "malware_refused", "dangerous_refused", "held_outbound")


def upgrade() -> None:
    with op.batch_alter_table("traffic_day") as batch:
        for name in COUNTERS:
            batch.add_column(sa.Column(name, sa.BigInteger(), server_default="0", nullable=False))
    op.create_table(
        "mail_log",
        sa.Column("id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=False),
        sa.Column("at", Timestamp, nullable=False),
        sa.Column("direction", sa.String(3), nullable=False),
        sa.Column("channel", sa.String(12), nullable=False),
        sa.Column("client_ip", sa.String(45), server_default="", nullable=False),
        sa.Column("mail_from", sa.String(320), server_default="", nullable=False),
        sa.Column("recipients", sa.Text(), server_default="", nullable=False),
        sa.Column("header_from", sa.String(320), server_default="", nullable=False),
        sa.Column("subject", sa.String(300), server_default="", nullable=False),
        sa.Column("message_id", sa.String(300), server_default="", nullable=False),
        sa.Column("size", sa.BigInteger(), server_default="0", nullable=False),
        sa.Column("score", sa.Float(), nullable=True),
        sa.Column("verdict", sa.String(16), nullable=False),
        sa.Column("outcome", sa.String(16), nullable=False),
        sa.Column("account_id", sa.Integer(), nullable=True),
        sa.Column("details", sa.LargeBinary(), nullable=True),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_mail_log")),
    )
    op.create_index(op.f("ix_mail_log_at"), "mail_log", ["at"])
    op.create_index("ix_mail_log_message_id", "mail_log", ["message_id"])
    op.create_index("ix_mail_log_mail_from", "mail_log", ["mail_from"])
    op.create_table(
        "mail_log_event",
        sa.Column("id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=False),
        sa.Column("log_id", sa.BigInteger(), nullable=False),
        sa.Column("at", Timestamp, nullable=False),
        sa.Column("kind", sa.String(16), nullable=False),
        sa.Column("actor", sa.String(320), server_default="", nullable=False),
        sa.Column("detail", sa.String(500), server_default="", nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_mail_log_event")),
    )
    op.create_index(op.f("ix_mail_log_event_log_id"), "mail_log_event", ["log_id"])
    with op.batch_alter_table("queue_item") as batch:
        batch.add_column(sa.Column("mail_log_id", sa.BigInteger(), nullable=True))
    op.create_table(
        "quarantine",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("held_at", Timestamp, nullable=False),
        sa.Column("channel", sa.String(12), nullable=False),
        sa.Column("mail_from", sa.String(320), server_default="", nullable=False),
        sa.Column("recipients", sa.JSON(), nullable=False),
        sa.Column("client_ip", sa.String(45), server_default="", nullable=False),
        sa.Column("account_id", sa.Integer(), nullable=True),
        sa.Column("blob_hash", sa.String(64), nullable=False),
        sa.Column("prefix", sa.LargeBinary(), nullable=True),
        sa.Column("size", sa.BigInteger(), nullable=False),
        sa.Column("subject", sa.String(300), server_default="", nullable=False),
        sa.Column("score", sa.Float(), nullable=True),
        sa.Column("verdict", sa.String(16), nullable=False),
        sa.Column("symbols", sa.JSON(), nullable=False),
        sa.Column("status", sa.String(12), server_default="held", nullable=False),
        sa.Column("decided_by", sa.String(320), nullable=True),
        sa.Column("decided_at", Timestamp, nullable=True),
        sa.ForeignKeyConstraint(["blob_hash"], ["blob.hash"], name=op.f("fk_quarantine_blob_hash_blob")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_quarantine")),
    )
    op.create_index(op.f("ix_quarantine_held_at"), "quarantine", ["held_at"])
    op.create_index(op.f("ix_quarantine_account_id"), "quarantine", ["account_id"])
    op.create_table(
        "sender_rule",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("account_id", sa.Integer(), nullable=True),
        sa.Column("kind", sa.String(8), nullable=False),
        sa.Column("pattern", sa.String(320), nullable=False),
        sa.Column("created_at", Timestamp, nullable=False),
        sa.Column("created_by", sa.String(320), server_default="", nullable=False),
        sa.ForeignKeyConstraint(
            ["account_id"], ["account.id"], name=op.f("fk_sender_rule_account_id_account")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_sender_rule")),
    )
    op.create_index(op.f("ix_sender_rule_account_id"), "sender_rule", ["account_id"])
    op.create_table(
        "dmarc_tally",
        sa.Column("day", sa.Date(), nullable=False),
        sa.Column("domain", sa.String(255), nullable=False),
        sa.Column("source_ip", sa.String(45), nullable=False),
        sa.Column("disposition", sa.String(12), nullable=False),
        sa.Column("dkim", sa.String(12), nullable=False),
        sa.Column("spf", sa.String(12), nullable=False),
        sa.Column("spf_domain", sa.String(255), nullable=False),
        sa.Column("spf_result", sa.String(12), nullable=False),
        sa.Column("dkim_domain", sa.String(255), nullable=False),
        sa.Column("dkim_result", sa.String(12), nullable=False),
        sa.Column("arc", sa.String(12), nullable=False),
        sa.Column("count", sa.BigInteger(), server_default="0", nullable=False),
        sa.PrimaryKeyConstraint(
            "day",
            "domain",
            "source_ip",
            "disposition",
            "dkim",
            "spf",
            "spf_domain",
            "spf_result",
            "dkim_domain",
            "dkim_result",
            "arc",
            name=op.f("pk_dmarc_tally"),
        ),
    )
    op.create_table(
        "dmarc_sent",
        sa.Column("day", sa.Date(), nullable=False),
        sa.Column("domain", sa.String(255), nullable=False),
        sa.Column("sent_at", Timestamp, nullable=False),
        sa.Column("report_id", sa.String(100), nullable=False),
        sa.Column("status", sa.String(16), nullable=False),
        sa.Column("recipients", sa.String(2000), server_default="", nullable=False),
        sa.Column("messages", sa.BigInteger(), server_default="0", nullable=False),
        sa.Column("records", sa.Integer(), server_default="0", nullable=False),
        sa.PrimaryKeyConstraint("day", "domain", name=op.f("pk_dmarc_sent")),
    )
    op.create_index(op.f("ix_dmarc_sent_sent_at"), "dmarc_sent", ["sent_at"])
    op.create_table(
        "dmarc_report",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("received_at", Timestamp, nullable=False),
        sa.Column("org_name", sa.String(300), nullable=False),
        sa.Column("report_id", sa.String(300), nullable=False),
        sa.Column("domain", sa.String(255), nullable=False),
        sa.Column("begin_at", Timestamp, nullable=False),
        sa.Column("end_at", Timestamp, nullable=False),
        sa.Column("messages", sa.BigInteger(), server_default="0", nullable=False),
        sa.Column("passed", sa.BigInteger(), server_default="0", nullable=False),
        sa.Column("failed", sa.BigInteger(), server_default="0", nullable=False),
        sa.Column("sources", sa.JSON(), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_dmarc_report")),
        sa.UniqueConstraint("org_name", "report_id", name=op.f("uq_dmarc_report_org_name_report_id")),
    )
    op.create_index(op.f("ix_dmarc_report_received_at"), "dmarc_report", ["received_at"])


def downgrade() -> None:
    tables = (
        "dmarc_report",
        "dmarc_sent",
        "dmarc_tally",
        "sender_rule",
        "quarantine",
        "mail_log_event",
        "mail_log",
    )
    for table in tables:
        op.drop_table(table)
    with op.batch_alter_table("queue_item") as batch:
        batch.drop_column("mail_log_id")
    with op.batch_alter_table("traffic_day") as batch:
        for name in COUNTERS:
            batch.drop_column(name)
