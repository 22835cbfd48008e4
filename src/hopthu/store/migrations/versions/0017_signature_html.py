"""account_preference.signature_html: a signature written with formatting

The settings page writes the signature in the same editor as a letter. The cleaned HTML is kept
beside the plain signature (its text, which plain-text letters and mail clients use); empty when
the signature has no formatting.

Revision ID: 0017_signature_html
Revises: 0016_message_body_id
Create Date: 2026-12-03 08:30:00
"""

import sqlalchemy as sa
from alembic import op

revision = "0017_signature_html"
down_revision = "0016_message_body_id"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("account_preference") as batch:
        batch.add_column(sa.Column("signature_html", sa.Text(), nullable=False, server_default=""))


def downgrade() -> None:
    with op.batch_alter_table("account_preference") as batch:
        batch.drop_column("signature_html")
