"""directory and mail tables

Revision ID: 0001_initial
Revises:
Create Date: 2026-11-28 21:26:31.951183
"""

import sqlalchemy as sa
from alembic import op

revision = "0001_initial"
down_revision = None
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "agency",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("code", sa.String(length=64), nullable=False),
        sa.Column("name", sa.String(length=300), nullable=False),
        sa.Column("kind", sa.String(length=16), nullable=False),
        sa.Column("parent_id", sa.Integer(), nullable=True),
        sa.Column("status", sa.String(length=16), server_default="active", nullable=False),
        sa.Column("merged_into", sa.Integer(), nullable=True),
        sa.Column("staff_count", sa.Integer(), nullable=True),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(["merged_into"], ["agency.id"], name=op.f("fk_agency_merged_into_agency")),
        sa.ForeignKeyConstraint(["parent_id"], ["agency.id"], name=op.f("fk_agency_parent_id_agency")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_agency")),
        sa.UniqueConstraint("code", name=op.f("uq_agency_code")),
    )
    with op.batch_alter_table("agency", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_agency_parent_id"), ["parent_id"], unique=False)

    op.create_table(
        "audit_event",
        sa.Column("id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=False),
        sa.Column("at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("actor", sa.String(length=200), nullable=False),
        sa.Column("action", sa.String(length=64), nullable=False),
        sa.Column("target", sa.String(length=200), nullable=True),
        sa.Column("reason", sa.Text(), nullable=True),
        sa.Column("ref", sa.String(length=200), nullable=True),
        sa.Column("details", sa.JSON(), nullable=True),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_audit_event")),
    )
    with op.batch_alter_table("audit_event", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_audit_event_action"), ["action"], unique=False)
        batch_op.create_index(batch_op.f("ix_audit_event_at"), ["at"], unique=False)
        batch_op.create_index(batch_op.f("ix_audit_event_target"), ["target"], unique=False)

    op.create_table(
        "blob",
        sa.Column("hash", sa.String(length=64), nullable=False),
        sa.Column("size", sa.BigInteger(), nullable=False),
        sa.Column("stored_size", sa.BigInteger(), nullable=False),
        sa.Column("refcount", sa.Integer(), nullable=False),
        sa.Column("zero_since", sa.DateTime(timezone=True), nullable=True),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("hash", name=op.f("pk_blob")),
    )
    with op.batch_alter_table("blob", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_blob_zero_since"), ["zero_since"], unique=False)

    op.create_table(
        "account",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("local", sa.String(length=64), nullable=False),
        sa.Column("kind", sa.String(length=16), nullable=False),
        sa.Column("family", sa.String(length=100), server_default="", nullable=False),
        sa.Column("middle", sa.String(length=200), server_default="", nullable=False),
        sa.Column("given", sa.String(length=100), server_default="", nullable=False),
        sa.Column("display_name", sa.String(length=400), nullable=False),
        sa.Column("agency_id", sa.Integer(), nullable=False),
        sa.Column("rank", sa.Integer(), server_default="0", nullable=False),
        sa.Column("status", sa.String(length=16), server_default="active", nullable=False),
        sa.Column("status_reason", sa.Text(), nullable=True),
        sa.Column("status_ref", sa.String(length=200), nullable=True),
        sa.Column("status_changed_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("password_hash", sa.String(length=200), nullable=False),
        sa.Column("password_changed_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("must_change_password", sa.Boolean(), server_default=sa.true(), nullable=False),
        sa.Column("quota_bytes", sa.BigInteger(), nullable=False),
        sa.Column("last_access_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("registered_on", sa.Date(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(["agency_id"], ["agency.id"], name=op.f("fk_account_agency_id_agency")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_account")),
        sa.UniqueConstraint("local", name=op.f("uq_account_local")),
    )
    with op.batch_alter_table("account", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_account_agency_id"), ["agency_id"], unique=False)

    op.create_table(
        "request",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("kind", sa.String(length=32), nullable=False),
        sa.Column("agency_id", sa.Integer(), nullable=True),
        sa.Column("payload", sa.JSON(), nullable=False),
        sa.Column("channel", sa.String(length=16), nullable=False),
        sa.Column("status", sa.String(length=16), server_default="pending", nullable=False),
        sa.Column("batch", sa.String(length=64), nullable=True),
        sa.Column("filed_by", sa.String(length=200), nullable=True),
        sa.Column("decided_by", sa.String(length=200), nullable=True),
        sa.Column("decision_reason", sa.Text(), nullable=True),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("decided_at", sa.DateTime(timezone=True), nullable=True),
        sa.ForeignKeyConstraint(["agency_id"], ["agency.id"], name=op.f("fk_request_agency_id_agency")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_request")),
    )
    with op.batch_alter_table("request", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_request_agency_id"), ["agency_id"], unique=False)
        batch_op.create_index(batch_op.f("ix_request_batch"), ["batch"], unique=False)

    op.create_table(
        "alias",
        sa.Column("local", sa.String(length=64), nullable=False),
        sa.Column("account_id", sa.Integer(), nullable=False),
        sa.Column("reason", sa.Text(), nullable=True),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(["account_id"], ["account.id"], name=op.f("fk_alias_account_id_account")),
        sa.PrimaryKeyConstraint("local", name=op.f("pk_alias")),
    )
    with op.batch_alter_table("alias", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_alias_account_id"), ["account_id"], unique=False)

    op.create_table(
        "delegation",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("mailbox_account_id", sa.Integer(), nullable=False),
        sa.Column("person_account_id", sa.Integer(), nullable=False),
        sa.Column("can_read", sa.Boolean(), server_default=sa.true(), nullable=False),
        sa.Column("can_send", sa.Boolean(), server_default=sa.false(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["mailbox_account_id"], ["account.id"], name=op.f("fk_delegation_mailbox_account_id_account")
        ),
        sa.ForeignKeyConstraint(
            ["person_account_id"], ["account.id"], name=op.f("fk_delegation_person_account_id_account")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_delegation")),
        sa.UniqueConstraint(
            "mailbox_account_id",
            "person_account_id",
            name=op.f("uq_delegation_mailbox_account_id_person_account_id"),
        ),
    )
    with op.batch_alter_table("delegation", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_delegation_mailbox_account_id"), ["mailbox_account_id"], unique=False
        )
        batch_op.create_index(
            batch_op.f("ix_delegation_person_account_id"), ["person_account_id"], unique=False
        )

    op.create_table(
        "mail_usage",
        sa.Column("account_id", sa.Integer(), nullable=False),
        sa.Column("bytes", sa.BigInteger(), server_default="0", nullable=False),
        sa.Column("messages", sa.Integer(), server_default="0", nullable=False),
        sa.ForeignKeyConstraint(
            ["account_id"], ["account.id"], name=op.f("fk_mail_usage_account_id_account")
        ),
        sa.PrimaryKeyConstraint("account_id", name=op.f("pk_mail_usage")),
    )
    op.create_table(
        "mailbox",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("account_id", sa.Integer(), nullable=False),
        sa.Column("name", sa.String(length=500), nullable=False),
        sa.Column("special_use", sa.String(length=16), nullable=True),
        sa.Column("uidvalidity", sa.BigInteger(), nullable=False),
        sa.Column("uidnext", sa.BigInteger(), server_default="1", nullable=False),
        sa.Column("highestmodseq", sa.BigInteger(), server_default="1", nullable=False),
        sa.Column("message_count", sa.Integer(), server_default="0", nullable=False),
        sa.Column("unseen_count", sa.Integer(), server_default="0", nullable=False),
        sa.Column("subscribed", sa.Boolean(), server_default=sa.true(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(["account_id"], ["account.id"], name=op.f("fk_mailbox_account_id_account")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_mailbox")),
        sa.UniqueConstraint("account_id", "name", name=op.f("uq_mailbox_account_id_name")),
    )
    op.create_table(
        "role_grant",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("account_id", sa.Integer(), nullable=False),
        sa.Column("role", sa.String(length=32), nullable=False),
        sa.Column("agency_id", sa.Integer(), nullable=True),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["account_id"], ["account.id"], name=op.f("fk_role_grant_account_id_account")
        ),
        sa.ForeignKeyConstraint(["agency_id"], ["agency.id"], name=op.f("fk_role_grant_agency_id_agency")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_role_grant")),
        sa.UniqueConstraint(
            "account_id", "role", "agency_id", name=op.f("uq_role_grant_account_id_role_agency_id")
        ),
    )
    with op.batch_alter_table("role_grant", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_role_grant_account_id"), ["account_id"], unique=False)

    op.create_table(
        "message",
        sa.Column("id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=False),
        sa.Column("mailbox_id", sa.Integer(), nullable=False),
        sa.Column("uid", sa.BigInteger(), nullable=False),
        sa.Column("modseq", sa.BigInteger(), nullable=False),
        sa.Column("flags", sa.Integer(), server_default="0", nullable=False),
        sa.Column("keywords", sa.Text(), nullable=True),
        sa.Column("internal_date", sa.DateTime(timezone=True), nullable=False),
        sa.Column("size", sa.BigInteger(), nullable=False),
        sa.Column("blob_hash", sa.String(length=64), nullable=False),
        sa.Column("prefix", sa.LargeBinary(), nullable=True),
        sa.Column("header_end", sa.Integer(), nullable=False),
        sa.Column("envelope", sa.JSON(), nullable=False),
        sa.Column("structure", sa.JSON(), nullable=False),
        sa.Column("subject", sa.Text(), server_default="", nullable=False),
        sa.Column("sender", sa.Text(), server_default="", nullable=False),
        sa.Column("sent_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("has_attachments", sa.Boolean(), server_default=sa.false(), nullable=False),
        sa.Column("preview", sa.Text(), server_default="", nullable=False),
        sa.Column("search_text", sa.Text(), server_default="", nullable=False),
        sa.ForeignKeyConstraint(["blob_hash"], ["blob.hash"], name=op.f("fk_message_blob_hash_blob")),
        sa.ForeignKeyConstraint(["mailbox_id"], ["mailbox.id"], name=op.f("fk_message_mailbox_id_mailbox")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_message")),
        sa.UniqueConstraint("mailbox_id", "uid", name=op.f("uq_message_mailbox_id_uid")),
    )
    with op.batch_alter_table("message", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_message_blob_hash"), ["blob_hash"], unique=False)
        batch_op.create_index(
            "ix_message_mailbox_id_internal_date", ["mailbox_id", "internal_date"], unique=False
        )
        batch_op.create_index("ix_message_mailbox_id_modseq", ["mailbox_id", "modseq"], unique=False)


def downgrade() -> None:
    with op.batch_alter_table("message", schema=None) as batch_op:
        batch_op.drop_index("ix_message_mailbox_id_modseq")
        batch_op.drop_index("ix_message_mailbox_id_internal_date")
        batch_op.drop_index(batch_op.f("ix_message_blob_hash"))

    op.drop_table("message")
    with op.batch_alter_table("role_grant", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_role_grant_account_id"))

    op.drop_table("role_grant")
    op.drop_table("mailbox")
    op.drop_table("mail_usage")
    with op.batch_alter_table("delegation", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_delegation_person_account_id"))
        batch_op.drop_index(batch_op.f("ix_delegation_mailbox_account_id"))

    op.drop_table("delegation")
    with op.batch_alter_table("alias", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_alias_account_id"))

    op.drop_table("alias")
    with op.batch_alter_table("request", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_request_batch"))
        batch_op.drop_index(batch_op.f("ix_request_agency_id"))

    op.drop_table("request")
    with op.batch_alter_table("account", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_account_agency_id"))

    op.drop_table("account")
    with op.batch_alter_table("blob", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_blob_zero_since"))

    op.drop_table("blob")
    with op.batch_alter_table("audit_event", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_audit_event_target"))
        batch_op.drop_index(batch_op.f("ix_audit_event_at"))
        batch_op.drop_index(batch_op.f("ix_audit_event_action"))

    op.drop_table("audit_event")
    with op.batch_alter_table("agency", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_agency_parent_id"))

    op.drop_table("agency")
