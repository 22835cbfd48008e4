"""The tables, as SQLAlchemy Core: one definition for SQLite and PostgreSQL.

Alembic revisions in `migrations/versions/` create and change these tables; this module is what the
code queries. Keep the two in step: a change here needs a new revision (a test compares them).

Directory tables (who is this person, what may they do) and mail tables (what is in their mailboxes)
share a database but never a table: the mail store knows an account only by its id.
"""

import datetime as dt

import sqlalchemy as sa

metadata = sa.MetaData(
    naming_convention={
        "ix": "ix_%(table_name)s_%(column_0_N_name)s",
        "uq": "uq_%(table_name)s_%(column_0_N_name)s",
        "ck": "ck_%(table_name)s_%(constraint_name)s",
        "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
        "pk": "pk_%(table_name)s",
    }
)


class UTCDateTime(sa.TypeDecorator[dt.datetime]):
    """A moment in time, stored in UTC and always read back timezone-aware (SQLite keeps no zone)."""

    impl = sa.DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(self, value: dt.datetime | None, dialect: sa.Dialect) -> dt.datetime | None:
        if value is None:
            return None
        if value.tzinfo is None:
            raise ValueError("naive datetime given to the store; pass an aware one")
        return value.astimezone(dt.UTC)

    def process_result_value(self, value: dt.datetime | None, dialect: sa.Dialect) -> dt.datetime | None:
        if value is not None and value.tzinfo is None:
            return value.replace(tzinfo=dt.UTC)
        return value


Timestamp = UTCDateTime()

# --- directory ---------------------------------------------------------------------------------

agency = sa.Table(
    "agency",
    metadata,
    sa.Column("id", sa.Integer, primary_key=True),
    sa.Column("code", sa.String(64), nullable=False, unique=True),
    sa.Column("name", sa.String(300), nullable=False),
    sa.Column("kind", sa.String(16), nullable=False),  # agency | subunit
    sa.Column("parent_id", sa.Integer, sa.ForeignKey("agency.id"), nullable=True, index=True),
    sa.Column("status", sa.String(16), nullable=False, server_default="active"),
    sa.Column("merged_into", sa.Integer, sa.ForeignKey("agency.id"), nullable=True),
    sa.Column("staff_count", sa.Integer, nullable=True),
    sa.Column("created_at", Timestamp, nullable=False),
)

account = sa.Table(
    "account",
    metadata,
    sa.Column("id", sa.Integer, primary_key=True),
    sa.Column("local", sa.String(64), nullable=False, unique=True),
    sa.Column("kind", sa.String(16), nullable=False),  # personal | agency
    sa.Column("family", sa.String(100), nullable=False, server_default=""),
    sa.Column("middle", sa.String(200), nullable=False, server_default=""),
    sa.Column("given", sa.String(100), nullable=False, server_default=""),
    sa.Column("display_name", sa.String(400), nullable=False),
    sa.Column("agency_id", sa.Integer, sa.ForeignKey("agency.id"), nullable=False, index=True),
    sa.Column("rank", sa.Integer, nullable=False, server_default="0"),
    sa.Column("job_title", sa.String(100), nullable=True),  # chức vụ, shown in the address book
    sa.Column("status", sa.String(16), nullable=False, server_default="active"),
    sa.Column("status_reason", sa.Text, nullable=True),
    sa.Column("status_ref", sa.String(200), nullable=True),
    sa.Column("status_changed_at", Timestamp, nullable=True),
    sa.Column("password_hash", sa.String(200), nullable=False),
    sa.Column("password_changed_at", Timestamp, nullable=False),
    sa.Column("must_change_password", sa.Boolean, nullable=False, server_default=sa.true()),
    sa.Column("quota_bytes", sa.BigInteger, nullable=False),
    sa.Column("last_access_at", Timestamp, nullable=True),
    sa.Column("registered_on", sa.Date, nullable=False),
    sa.Column("created_at", Timestamp, nullable=False),
    sa.Column("purged_at", Timestamp, nullable=True),  # when retention ended and its mail was removed
)

alias = sa.Table(
    "alias",
    metadata,
    sa.Column("local", sa.String(64), primary_key=True),
    sa.Column("account_id", sa.Integer, sa.ForeignKey("account.id"), nullable=False, index=True),
    sa.Column("reason", sa.Text, nullable=True),
    sa.Column("created_at", Timestamp, nullable=False),
)

# R13.7: a person's address in a former province's system (`smtp.domain_aliases`), kept whole and in
# lower case, and the account it now reaches. Only this table routes mail for those domains, so two
# people who shared a local part in two provinces each keep their own old address.
former_address = sa.Table(
    "former_address",
    metadata,
    sa.Column("address", sa.String(320), primary_key=True),
    sa.Column("account_id", sa.Integer, sa.ForeignKey("account.id"), nullable=False, index=True),
    sa.Column("source", sa.String(32), nullable=False),  # "import" (a list) or "manual"
    sa.Column("reason", sa.Text, nullable=True),
    sa.Column("created_at", Timestamp, nullable=False),
)

# R13.7: who was told the new address after writing to an old one, so a sender is told at most once
# per period per old address, across restarts.
former_notice = sa.Table(
    "former_notice",
    metadata,
    sa.Column("sender", sa.String(320), primary_key=True),
    sa.Column("address", sa.String(320), primary_key=True),
    sa.Column("told_at", Timestamp, nullable=False),
)

delegation = sa.Table(
    "delegation",
    metadata,
    sa.Column("id", sa.Integer, primary_key=True),
    sa.Column("mailbox_account_id", sa.Integer, sa.ForeignKey("account.id"), nullable=False, index=True),
    sa.Column("person_account_id", sa.Integer, sa.ForeignKey("account.id"), nullable=False, index=True),
    sa.Column("can_read", sa.Boolean, nullable=False, server_default=sa.true()),
    sa.Column("can_send", sa.Boolean, nullable=False, server_default=sa.false()),
    sa.Column("created_at", Timestamp, nullable=False),
    sa.UniqueConstraint("mailbox_account_id", "person_account_id"),
)

role_grant = sa.Table(
    "role_grant",
    metadata,
    sa.Column("id", sa.Integer, primary_key=True),
    sa.Column("account_id", sa.Integer, sa.ForeignKey("account.id"), nullable=False, index=True),
    sa.Column("role", sa.String(32), nullable=False),  # operator | helpdesk | agency_manager | auditor
    sa.Column("agency_id", sa.Integer, sa.ForeignKey("agency.id"), nullable=True),
    sa.Column("created_at", Timestamp, nullable=False),
    sa.UniqueConstraint("account_id", "role", "agency_id"),
)

request = sa.Table(
    "request",
    metadata,
    sa.Column("id", sa.Integer, primary_key=True),
    sa.Column("kind", sa.String(32), nullable=False),
    sa.Column("agency_id", sa.Integer, sa.ForeignKey("agency.id"), nullable=True, index=True),
    sa.Column("payload", sa.JSON, nullable=False),
    sa.Column("channel", sa.String(16), nullable=False),  # portal | mail | cli
    sa.Column("status", sa.String(16), nullable=False, server_default="pending"),
    sa.Column("batch", sa.String(64), nullable=True, index=True),
    sa.Column("filed_by", sa.String(200), nullable=True),
    sa.Column("decided_by", sa.String(200), nullable=True),
    sa.Column("decision_reason", sa.Text, nullable=True),
    sa.Column("created_at", Timestamp, nullable=False),
    sa.Column("decided_at", Timestamp, nullable=True),
)

audit_event = sa.Table(
    "audit_event",
    metadata,
    sa.Column("id", sa.BigInteger().with_variant(sa.Integer, "sqlite"), primary_key=True),
    sa.Column("at", Timestamp, nullable=False, index=True),
    sa.Column("actor", sa.String(200), nullable=False),
    sa.Column("action", sa.String(64), nullable=False, index=True),
    sa.Column("target", sa.String(200), nullable=True, index=True),
    sa.Column("reason", sa.Text, nullable=True),
    sa.Column("ref", sa.String(200), nullable=True),
    sa.Column("details", sa.JSON, nullable=True),
)

# Every sign-in and every refused one, on every protocol, and every opening of an agency mailbox by
# a delegate (R13.4, R13.6): kept 12 months (the `accesslog` job), read by the operator and the
# auditor. `account_id` is the account the login named (none for an unknown login, whose text is in
# `login`); `mailbox_id` the agency mailbox a delegate opened. No foreign keys: a record outlives
# what it names.
access_event = sa.Table(
    "access_event",
    metadata,
    sa.Column("id", sa.BigInteger().with_variant(sa.Integer, "sqlite"), primary_key=True),
    sa.Column("at", Timestamp, nullable=False, index=True),
    sa.Column("account_id", sa.Integer, nullable=True),
    sa.Column("login", sa.String(320), nullable=False, server_default=""),
    sa.Column("protocol", sa.String(12), nullable=False),  # imap | pop3 | submission | web | api
    sa.Column("source", sa.String(64), nullable=False, server_default=""),
    sa.Column("client", sa.String(200), nullable=False, server_default=""),
    sa.Column("result", sa.String(24), nullable=False),  # success | a `Refusal` | delegate
    sa.Column("mailbox_id", sa.Integer, nullable=True),
    sa.Index("ix_access_event_account_id_at", "account_id", "at"),
    # "Has this account signed in from this place and program before?" on every new sign-in.
    sa.Index("ix_access_event_account_id_source_client", "account_id", "source", "client"),
    sa.Index("ix_access_event_mailbox_id", "mailbox_id"),
    sa.Index("ix_access_event_login", "login"),
)

# A signed-in browser (R11.4): the cookie carries a random token, the table only its SHA-256, so a
# copy of the database signs no one in. `public` sessions end with the browser and after 30 idle
# minutes; `must_change_password` ones reach nothing but the password change page (R5.2).
web_session = sa.Table(
    "web_session",
    metadata,
    sa.Column("id", sa.String(64), primary_key=True),
    sa.Column("account_id", sa.Integer, sa.ForeignKey("account.id"), nullable=False, index=True),
    sa.Column("public", sa.Boolean, nullable=False, server_default=sa.false()),
    sa.Column("must_change_password", sa.Boolean, nullable=False, server_default=sa.false()),
    sa.Column("user_agent", sa.String(300), nullable=False, server_default=""),
    sa.Column("address", sa.String(64), nullable=False, server_default=""),
    sa.Column("created_at", Timestamp, nullable=False),
    sa.Column("last_seen_at", Timestamp, nullable=False),
    sa.Column("ended_at", Timestamp, nullable=True),
    # When this session proved the administrator's second factor (R9: the portal asks for it).
    sa.Column("second_factor_at", Timestamp, nullable=True),
)

# A token an integration (the city's HR system, say) calls the REST API with: only its SHA-256 is kept;
# it acts with one role of `role_grant`, for one agency's subtree when that role is an agency's.
api_token = sa.Table(
    "api_token",
    metadata,
    sa.Column("id", sa.Integer, primary_key=True),
    sa.Column("name", sa.String(100), nullable=False),
    sa.Column("token_hash", sa.String(64), nullable=False, unique=True),
    sa.Column("role", sa.String(32), nullable=False),
    sa.Column("agency_id", sa.Integer, sa.ForeignKey("agency.id"), nullable=True),
    sa.Column("created_by", sa.String(200), nullable=False),
    sa.Column("created_at", Timestamp, nullable=False),
    sa.Column("last_used_at", Timestamp, nullable=True),
    sa.Column("revoked_at", Timestamp, nullable=True),
)

# A person's app password (`directory.apppasswords`): one per mail program or device, named by them,
# kept only as a keyed hash (`security.apppasswords`); deleted when revoked (the audit log keeps the
# act). `last_used_at`/`last_used_from` are written at most once a minute per app password.
app_password = sa.Table(
    "app_password",
    metadata,
    sa.Column("id", sa.Integer, primary_key=True),
    sa.Column("account_id", sa.Integer, sa.ForeignKey("account.id"), nullable=False, index=True),
    sa.Column("name", sa.String(60), nullable=False),
    sa.Column("secret_hash", sa.String(64), nullable=False, unique=True),
    sa.Column("created_at", Timestamp, nullable=False),
    sa.Column("last_used_at", Timestamp, nullable=True),
    sa.Column("last_used_from", sa.String(64), nullable=False, server_default=""),
    sa.UniqueConstraint("account_id", "name"),
)

# An administrator's second factor (TOTP, RFC 6238): the secret encrypted with the data folder's key,
# confirmed once a first code from the enrolled device matched; `last_step` refuses a code twice.
admin_factor = sa.Table(
    "admin_factor",
    metadata,
    sa.Column("account_id", sa.Integer, sa.ForeignKey("account.id"), primary_key=True),
    sa.Column("secret", sa.Text, nullable=False),
    sa.Column("confirmed_at", Timestamp, nullable=True),
    sa.Column("last_step", sa.BigInteger, nullable=False, server_default="0"),
    sa.Column("created_at", Timestamp, nullable=False),
)

# What a person sets for themselves in the webmail: their signature and the out-of-office reply.
account_preference = sa.Table(
    "account_preference",
    metadata,
    sa.Column("account_id", sa.Integer, sa.ForeignKey("account.id"), primary_key=True),
    sa.Column("signature", sa.Text, nullable=False, server_default=""),
    sa.Column("vacation_on", sa.Boolean, nullable=False, server_default=sa.false()),
    sa.Column("vacation_subject", sa.String(300), nullable=False, server_default=""),
    sa.Column("vacation_text", sa.Text, nullable=False, server_default=""),
    sa.Column("vacation_until", sa.Date, nullable=True),  # the last day it answers; None: until turned off
    sa.Column("updated_at", Timestamp, nullable=False),
    # the signature written with formatting, cleaned; "" when it has none (then `signature` alone)
    sa.Column("signature_html", sa.Text, nullable=False, server_default=""),
)

# Who got an out-of-office reply from whom and when: one reply per sender per period (RFC 3834 §2).
vacation_reply = sa.Table(
    "vacation_reply",
    metadata,
    sa.Column("account_id", sa.Integer, sa.ForeignKey("account.id"), primary_key=True),
    sa.Column("sender", sa.String(320), primary_key=True),
    sa.Column("replied_at", Timestamp, nullable=False),
)

# Each run of a scheduled job (`jobs/`): one per job and slot succeeds; what it did, or why it failed.
job_run = sa.Table(
    "job_run",
    metadata,
    sa.Column("id", sa.Integer, primary_key=True),
    sa.Column("job", sa.String(64), nullable=False),
    sa.Column("slot", sa.String(32), nullable=False),
    sa.Column("node", sa.String(200), nullable=False),
    sa.Column("started_at", Timestamp, nullable=False),
    sa.Column("finished_at", Timestamp, nullable=True),
    sa.Column("status", sa.String(16), nullable=False),  # running | ok | failed
    sa.Column("summary", sa.JSON, nullable=True),
    sa.Column("error", sa.Text, nullable=True),
    sa.Index("ix_job_run_job_started_at", "job", "started_at"),
)

# The warnings jobs sent, once each: (account, kind, key), e.g. ("quota", "90").
notice = sa.Table(
    "notice",
    metadata,
    sa.Column("account_id", sa.Integer, sa.ForeignKey("account.id"), primary_key=True),
    sa.Column("kind", sa.String(32), primary_key=True),
    sa.Column("key", sa.String(64), primary_key=True),
    sa.Column("sent_at", Timestamp, nullable=False),
)

# A day's picture of the mailboxes per agency (the `stats` job), so a report on a past period gives
# the states of its last day rather than today's.
daily_stats = sa.Table(
    "daily_stats",
    metadata,
    sa.Column("day", sa.Date, primary_key=True),
    sa.Column("agency_id", sa.Integer, primary_key=True),
    sa.Column("active", sa.Integer, nullable=False, server_default="0"),
    sa.Column("locked", sa.Integer, nullable=False, server_default="0"),
    sa.Column("revoked", sa.Integer, nullable=False, server_default="0"),
    sa.Column("deleted", sa.Integer, nullable=False, server_default="0"),
    sa.Column("used_bytes", sa.BigInteger, nullable=False, server_default="0"),
)

# Mail counted per day (Vietnam's) and agency, for the dashboard and the reports (R9.3): kept by the
# process in memory and added here every minute; agency 0 is mail from outside the city's mailboxes.
traffic_day = sa.Table(
    "traffic_day",
    metadata,
    sa.Column("day", sa.Date, primary_key=True),
    sa.Column("agency_id", sa.Integer, primary_key=True),
    sa.Column("received", sa.BigInteger, nullable=False, server_default="0"),
    sa.Column("sent", sa.BigInteger, nullable=False, server_default="0"),
    sa.Column("blocked", sa.BigInteger, nullable=False, server_default="0"),
    # Protection (R13.2): spam refused at DATA, spam filed to Thư rác, malware and dangerous files
    # refused, outbound mail held in quarantine.
    sa.Column("spam_refused", sa.BigInteger, nullable=False, server_default="0"),
    sa.Column("spam_junk", sa.BigInteger, nullable=False, server_default="0"),
    sa.Column("malware_refused", sa.BigInteger, nullable=False, server_default="0"),
    sa.Column("dangerous_refused", sa.BigInteger, nullable=False, server_default="0"),
    sa.Column("held_outbound", sa.BigInteger, nullable=False, server_default="0"),
)

# A personal data breach as the operator recorded it (R13.6, Luật 91/2025): the authority is to be
# notified within 72 hours of `discovered_at` (`policy.breach`); the portal counts down until it is
# reported or closed. `affected` lists the addresses known to be touched, one a line.
personal_data_breach = sa.Table(
    "personal_data_breach",
    metadata,
    sa.Column("id", sa.Integer, primary_key=True),
    sa.Column("discovered_at", Timestamp, nullable=False),
    sa.Column("description", sa.Text, nullable=False),
    sa.Column("affected", sa.Text, nullable=False, server_default=""),
    sa.Column("affected_count", sa.Integer, nullable=False, server_default="0"),
    sa.Column("recorded_by", sa.String(200), nullable=False),
    sa.Column("recorded_at", Timestamp, nullable=False),
    sa.Column("reported_at", Timestamp, nullable=True),
    sa.Column("closed_at", Timestamp, nullable=True),
)

# --- protection ----------------------------------------------------------------------------------

# R13.1 (Nghị định 91/2020): every message in and out, kept `protection.mail_log_days` (180). The
# fields an operator traces by are columns; the rest (HELO, To, Cc, Date, the Received chain, rspamd's
# symbols, the authentication results, each recipient's fate) is one zstd-compressed JSON document.
mail_log = sa.Table(
    "mail_log",
    metadata,
    sa.Column("id", sa.BigInteger().with_variant(sa.Integer, "sqlite"), primary_key=True),
    sa.Column("at", Timestamp, nullable=False, index=True),
    sa.Column("direction", sa.String(3), nullable=False),  # in | out
    sa.Column("channel", sa.String(12), nullable=False),  # mx | submission | web | system
    sa.Column("client_ip", sa.String(45), nullable=False, server_default=""),
    sa.Column("mail_from", sa.String(320), nullable=False, server_default=""),
    sa.Column("recipients", sa.Text, nullable=False, server_default=""),  # envelope, space separated
    sa.Column("header_from", sa.String(320), nullable=False, server_default=""),
    sa.Column("subject", sa.String(300), nullable=False, server_default=""),
    sa.Column("message_id", sa.String(300), nullable=False, server_default=""),
    sa.Column("size", sa.BigInteger, nullable=False, server_default="0"),
    sa.Column("score", sa.Float, nullable=True),  # rspamd's, when it scored the message
    sa.Column("verdict", sa.String(16), nullable=False),  # clean | spam | malware | dangerous | ...
    sa.Column("outcome", sa.String(16), nullable=False),  # delivered | junk | refused | held | ...
    sa.Column("account_id", sa.Integer, nullable=True),  # who sent it, when one of ours did
    sa.Column("details", sa.LargeBinary, nullable=True),
    sa.Index("ix_mail_log_message_id", "message_id"),
    sa.Index("ix_mail_log_mail_from", "mail_from"),
)

# What became of a logged message afterwards: the remote server took it, deferred or bounced it (the
# outbound queue), an operator released or deleted it from quarantine. Few rows: most messages have
# none. Purged with their entry.
mail_log_event = sa.Table(
    "mail_log_event",
    metadata,
    sa.Column("id", sa.BigInteger().with_variant(sa.Integer, "sqlite"), primary_key=True),
    sa.Column("log_id", sa.BigInteger, nullable=False, index=True),
    sa.Column("at", Timestamp, nullable=False),
    sa.Column("kind", sa.String(16), nullable=False),  # sent | deferred | bounced | released | ...
    sa.Column("actor", sa.String(320), nullable=False, server_default=""),
    sa.Column("detail", sa.String(500), nullable=False, server_default=""),
)

# Messages held for an operator (outbound over `protection.hold_score`): the body stays in the blob
# store (its reference counted, as for a queue item) until the message is released or deleted.
quarantine = sa.Table(
    "quarantine",
    metadata,
    sa.Column("id", sa.Integer, primary_key=True),
    sa.Column("held_at", Timestamp, nullable=False, index=True),
    sa.Column("channel", sa.String(12), nullable=False),
    sa.Column("mail_from", sa.String(320), nullable=False, server_default=""),
    sa.Column("recipients", sa.JSON, nullable=False),
    sa.Column("client_ip", sa.String(45), nullable=False, server_default=""),
    sa.Column("account_id", sa.Integer, nullable=True, index=True),
    sa.Column("blob_hash", sa.String(64), sa.ForeignKey("blob.hash"), nullable=False),
    sa.Column("prefix", sa.LargeBinary, nullable=True),
    sa.Column("size", sa.BigInteger, nullable=False),
    sa.Column("subject", sa.String(300), nullable=False, server_default=""),
    sa.Column("score", sa.Float, nullable=True),
    sa.Column("verdict", sa.String(16), nullable=False),
    sa.Column("symbols", sa.JSON, nullable=False),
    sa.Column("status", sa.String(12), nullable=False, server_default="held"),  # held|released|deleted
    sa.Column("decided_by", sa.String(320), nullable=True),
    sa.Column("decided_at", Timestamp, nullable=True),
)

# Block and allow lists: a person's own (account_id set, in the webmail's settings) and the city's
# (account_id NULL, in the portal). A pattern is an address or "@domain".
sender_rule = sa.Table(
    "sender_rule",
    metadata,
    sa.Column("id", sa.Integer, primary_key=True),
    sa.Column("account_id", sa.Integer, sa.ForeignKey("account.id"), nullable=True, index=True),
    sa.Column("kind", sa.String(8), nullable=False),  # block | allow
    sa.Column("pattern", sa.String(320), nullable=False),
    sa.Column("created_at", Timestamp, nullable=False),
    sa.Column("created_by", sa.String(320), nullable=False, server_default=""),
)

# RFC 7489 aggregate data about mail we received, counted per day (Vietnam's) and author domain,
# sent once a day to the domains that ask for it (rua).
dmarc_tally = sa.Table(
    "dmarc_tally",
    metadata,
    sa.Column("day", sa.Date, primary_key=True),
    sa.Column("domain", sa.String(255), primary_key=True),
    sa.Column("source_ip", sa.String(45), primary_key=True),
    sa.Column("disposition", sa.String(12), primary_key=True),  # none | quarantine | reject
    sa.Column("dkim", sa.String(12), primary_key=True),  # pass | fail (aligned DKIM)
    sa.Column("spf", sa.String(12), primary_key=True),  # pass | fail (aligned SPF)
    # The raw results the report's auth_results give (RFC 7489 Appendix C): the envelope's SPF
    # domain and result, the first DKIM signature's (the aligned passing one when there is one).
    sa.Column("spf_domain", sa.String(255), primary_key=True),
    sa.Column("spf_result", sa.String(12), primary_key=True),
    sa.Column("dkim_domain", sa.String(255), primary_key=True),
    sa.Column("dkim_result", sa.String(12), primary_key=True),
    # ARC (RFC 8617) as rspamd judged mail a list or forwarder passed on: allow | reject | invalid |
    # dnsfail | none; "" when the message was not forwarded or nothing judged its chain.
    sa.Column("arc", sa.String(12), primary_key=True),
    sa.Column("count", sa.BigInteger, nullable=False, server_default="0"),
)

# The aggregate reports we sent (or could not), one per day and domain: the daily job's memory, so a
# run again never sends the same report twice, and the portal's list of the last ones.
dmarc_sent = sa.Table(
    "dmarc_sent",
    metadata,
    sa.Column("day", sa.Date, primary_key=True),
    sa.Column("domain", sa.String(255), primary_key=True),
    sa.Column("sent_at", Timestamp, nullable=False, index=True),
    sa.Column("report_id", sa.String(100), nullable=False),
    sa.Column("status", sa.String(16), nullable=False),  # queued | too_large | unverified | dns_error
    sa.Column("recipients", sa.String(2000), nullable=False, server_default=""),
    sa.Column("messages", sa.BigInteger, nullable=False, server_default="0"),
    sa.Column("records", sa.Integer, nullable=False, server_default="0"),
)

# Aggregate reports other receivers sent about our domains, summarised for the portal.
dmarc_report = sa.Table(
    "dmarc_report",
    metadata,
    sa.Column("id", sa.Integer, primary_key=True),
    sa.Column("received_at", Timestamp, nullable=False, index=True),
    sa.Column("org_name", sa.String(300), nullable=False),
    sa.Column("report_id", sa.String(300), nullable=False),
    sa.Column("domain", sa.String(255), nullable=False),
    sa.Column("begin_at", Timestamp, nullable=False),
    sa.Column("end_at", Timestamp, nullable=False),
    sa.Column("messages", sa.BigInteger, nullable=False, server_default="0"),
    sa.Column("passed", sa.BigInteger, nullable=False, server_default="0"),
    sa.Column("failed", sa.BigInteger, nullable=False, server_default="0"),
    sa.Column("sources", sa.JSON, nullable=False),
    sa.UniqueConstraint("org_name", "report_id"),
)

# --- mail ----------------------------------------------------------------------------------------

blob = sa.Table(
    "blob",
    metadata,
    sa.Column("hash", sa.String(64), primary_key=True),  # SHA-256, hex, of the canonical message
    sa.Column("size", sa.BigInteger, nullable=False),
    sa.Column("stored_size", sa.BigInteger, nullable=False),
    sa.Column("refcount", sa.Integer, nullable=False),
    # When refcount last fell to zero; the collector waits a grace period after it.
    sa.Column("zero_since", Timestamp, nullable=True, index=True),
    sa.Column("created_at", Timestamp, nullable=False),
)

# The folded search text of a body (`mail.searchtext`: its header fields, names, subject and the words
# of its text parts), made once when the body is first delivered and kept once however many mailboxes
# hold it; removed with its blob. `id` is the rowid of its full-text index entry: on SQLite the FTS5
# table `body_text_index` (trigram tokenizer, external content = this table, kept by triggers), on
# PostgreSQL a GIN `pg_trgm` index on `text` (`ix_body_text_text_trgm`). Neither is expressible here;
# migration 0013 makes them (`store.textindex` queries them). Removing the blob row removes its text
# (ON DELETE CASCADE) and, through the trigger, its index entry.
body_text = sa.Table(
    "body_text",
    metadata,
    sa.Column("id", sa.BigInteger().with_variant(sa.Integer, "sqlite"), primary_key=True),
    sa.Column(
        "hash", sa.String(64), sa.ForeignKey("blob.hash", ondelete="CASCADE"), nullable=False, unique=True
    ),
    sa.Column("text", sa.Text, nullable=False),
)

# What an account's mail occupies. The limit itself is the directory's (account.quota_bytes); the
# store only counts, exactly, with atomic increments in the same transaction as the message rows.
mail_usage = sa.Table(
    "mail_usage",
    metadata,
    sa.Column("account_id", sa.Integer, sa.ForeignKey("account.id"), primary_key=True),
    sa.Column("bytes", sa.BigInteger, nullable=False, server_default="0"),
    sa.Column("messages", sa.Integer, nullable=False, server_default="0"),
    # The largest UIDVALIDITY the account's mailboxes ever had: a mailbox deleted and created again
    # gets a larger one, so clients never mix the old folder's UIDs with the new one's.
    sa.Column("last_uidvalidity", sa.BigInteger, nullable=False, server_default="0"),
)

mailbox = sa.Table(
    "mailbox",
    metadata,
    sa.Column("id", sa.Integer, primary_key=True),
    sa.Column("account_id", sa.Integer, sa.ForeignKey("account.id"), nullable=False),
    sa.Column("name", sa.String(500), nullable=False),
    sa.Column("special_use", sa.String(16), nullable=True),  # \Sent, \Drafts, \Trash, \Junk, \Archive
    sa.Column("uidvalidity", sa.BigInteger, nullable=False),
    sa.Column("uidnext", sa.BigInteger, nullable=False, server_default="1"),
    sa.Column("highestmodseq", sa.BigInteger, nullable=False, server_default="1"),
    sa.Column("message_count", sa.Integer, nullable=False, server_default="0"),
    sa.Column("unseen_count", sa.Integer, nullable=False, server_default="0"),
    # The first UID no IMAP session has claimed as \Recent yet (`store.recent`).
    sa.Column("recent_uid", sa.BigInteger, nullable=False, server_default="1"),
    sa.Column("subscribed", sa.Boolean, nullable=False, server_default=sa.true()),
    sa.Column("created_at", Timestamp, nullable=False),
    sa.UniqueConstraint("account_id", "name"),
)

# A subscription to a name that has no mailbox (RFC 9051 §6.3.7: a client may subscribe to a name
# that does not exist, and DELETE does not unsubscribe). A name's subscription lives in one place:
# the mailbox row's `subscribed` while the mailbox exists, a row here while it does not.
orphan_subscription = sa.Table(
    "orphan_subscription",
    metadata,
    sa.Column("account_id", sa.Integer, sa.ForeignKey("account.id"), primary_key=True),
    sa.Column("name", sa.String(500), primary_key=True),
)

message = sa.Table(
    "message",
    metadata,
    sa.Column("id", sa.BigInteger().with_variant(sa.Integer, "sqlite"), primary_key=True),
    sa.Column("mailbox_id", sa.Integer, sa.ForeignKey("mailbox.id"), nullable=False),
    sa.Column("uid", sa.BigInteger, nullable=False),
    sa.Column("modseq", sa.BigInteger, nullable=False),
    sa.Column("flags", sa.Integer, nullable=False, server_default="0"),  # system flags, bit mask
    sa.Column("keywords", sa.Text, nullable=True),  # user keywords, space separated
    sa.Column("internal_date", Timestamp, nullable=False),
    sa.Column("size", sa.BigInteger, nullable=False),
    sa.Column("blob_hash", sa.String(64), sa.ForeignKey("blob.hash"), nullable=False, index=True),
    # The `body_text` row of the body (the full-text index's row id): a text search joins its
    # answer by this integer and the (body_id, mailbox_id, uid) index, not by the 64-character hash.
    sa.Column("body_id", sa.BigInteger().with_variant(sa.Integer, "sqlite"), nullable=True),
    # Headers added at delivery (Received, Authentication-Results), served before the stored bytes.
    sa.Column("prefix", sa.LargeBinary, nullable=True),
    sa.Column("header_end", sa.Integer, nullable=False),
    sa.Column("envelope", sa.JSON, nullable=False),
    sa.Column("structure", sa.JSON, nullable=False),
    sa.Column("subject", sa.Text, nullable=False, server_default=""),
    sa.Column("sender", sa.Text, nullable=False, server_default=""),
    sa.Column("sent_at", Timestamp, nullable=True),
    # The Date header's own calendar day (in its time zone), for SENTON and friends (`mail.headers`).
    sa.Column("sent_day", sa.Date, nullable=True),
    sa.Column("has_attachments", sa.Boolean, nullable=False, server_default=sa.false()),
    sa.Column("preview", sa.Text, nullable=False, server_default=""),
    # Folded keys the webmail list sorts by (`mail.sortkeys`), each with its (mailbox, key, uid) index.
    sa.Column("sort_sender", sa.Text, nullable=False, server_default=""),
    sa.Column("sort_subject", sa.Text, nullable=False, server_default=""),
    # The whole subject folded where `sort_subject` is not all of it (`mail.sortkeys.folded_subject`),
    # else NULL: SEARCH SUBJECT looks in this or the key.
    sa.Column("folded_subject", sa.Text, nullable=True),
    # What SEARCH FROM looks in: the From field's names and addresses folded
    # (`mail.envelope.searched_text`); NULL only before a migration fills it.
    sa.Column("folded_from", sa.Text, nullable=True),
    sa.UniqueConstraint("mailbox_id", "uid"),
    sa.Index("ix_message_mailbox_id_modseq", "mailbox_id", "modseq"),
    sa.Index("ix_message_mailbox_id_internal_date", "mailbox_id", "internal_date"),
    # The sort indexes hold the folded fields too: SEARCH FROM and SUBJECT read an index alone.
    sa.Index("ix_message_mailbox_id_sort_sender", "mailbox_id", "sort_sender", "uid", "folded_from"),
    sa.Index("ix_message_mailbox_id_sort_subject", "mailbox_id", "sort_subject", "uid", "folded_subject"),
    sa.Index("ix_message_mailbox_id_size", "mailbox_id", "size", "uid"),
    sa.Index("ix_message_body_id_mailbox_id_uid", "body_id", "mailbox_id", "uid"),
)

# Mail waiting to leave for other domains: one row per remote recipient, pointing at the stored body
# (a reference counted in `blob.refcount` until the row is finished). Finished rows stay as the record
# of what was sent (R13.1) until retention removes them.
queue_item = sa.Table(
    "queue_item",
    metadata,
    sa.Column("id", sa.BigInteger().with_variant(sa.Integer, "sqlite"), primary_key=True),
    sa.Column("blob_hash", sa.String(64), sa.ForeignKey("blob.hash"), nullable=False, index=True),
    sa.Column("prefix", sa.LargeBinary, nullable=True),  # headers added for sending (DKIM, Received)
    sa.Column("sender", sa.String(320), nullable=False),  # envelope MAIL FROM; "" for bounces
    sa.Column("recipient", sa.String(320), nullable=False),
    sa.Column("domain", sa.String(255), nullable=False),
    sa.Column("account_id", sa.Integer, sa.ForeignKey("account.id"), nullable=True, index=True),
    sa.Column("status", sa.String(16), nullable=False, server_default="queued"),
    sa.Column("attempts", sa.Integer, nullable=False, server_default="0"),
    sa.Column("next_attempt_at", Timestamp, nullable=False),
    sa.Column("lease_until", Timestamp, nullable=True),
    sa.Column("last_error", sa.Text, nullable=True),
    sa.Column("delay_notified", sa.Boolean, nullable=False, server_default=sa.false()),
    sa.Column("created_at", Timestamp, nullable=False),
    sa.Column("finished_at", Timestamp, nullable=True),
    sa.Column("mail_log_id", sa.BigInteger, nullable=True),  # the message's mail log entry (R13.1)
    sa.Index("ix_queue_item_status_next_attempt_at", "status", "next_attempt_at"),
)

# --- importing -----------------------------------------------------------------------------------

# R13.7: a person's latest import of an archive from their computer through the webmail, one row per
# account: running (its progress, renewed as it goes, so any node shows it and a stalled one is seen),
# then done with its summary or failed with the reason in both languages.
archive_import = sa.Table(
    "archive_import",
    metadata,
    sa.Column("account_id", sa.Integer, sa.ForeignKey("account.id"), primary_key=True),
    sa.Column("state", sa.String(16), nullable=False),  # running | done | failed
    sa.Column("file_name", sa.String(300), nullable=False),
    sa.Column("started_at", Timestamp, nullable=False),
    sa.Column("updated_at", Timestamp, nullable=False),
    sa.Column("total", sa.Integer, nullable=False, server_default="0"),
    sa.Column("done", sa.Integer, nullable=False, server_default="0"),
    sa.Column("summary", sa.JSON, nullable=True),
    sa.Column("error_vi", sa.Text, nullable=True),
    sa.Column("error_en", sa.Text, nullable=True),
)

# Mailboxes brought over from the former provinces' servers (R13.7, `importing/`). A run is one
# execution of a plan (`digest` names the plan's lines without their passwords, so running the same
# plan again resumes its unfinished run); each plan line is an `import_mailbox` row of that run. The
# checkpoints outlive runs: `import_folder` holds, per target account, former server and source
# folder, the source's UIDVALIDITY and the highest source UID imported, and `target_mark`, our
# folder's UIDNEXT when that checkpoint was written, so a batch cut short by a crash is recognised
# after it (its messages are the ones at or above the mark). `account_id` is not a foreign key: the
# record stays when an account is purged. Passwords are never stored.
import_run = sa.Table(
    "import_run",
    metadata,
    sa.Column("id", sa.Integer, primary_key=True),
    sa.Column("plan", sa.String(500), nullable=False),
    sa.Column("digest", sa.String(64), nullable=False, index=True),
    sa.Column("status", sa.String(16), nullable=False),  # running | paused | done | failed
    sa.Column("actor", sa.String(200), nullable=False),
    sa.Column("started_at", Timestamp, nullable=False),
    sa.Column("finished_at", Timestamp, nullable=True),
)

import_mailbox = sa.Table(
    "import_mailbox",
    metadata,
    sa.Column("id", sa.Integer, primary_key=True),
    sa.Column("run_id", sa.Integer, sa.ForeignKey("import_run.id"), nullable=False, index=True),
    sa.Column("line", sa.Integer, nullable=False),
    sa.Column("source", sa.String(600), nullable=False),  # host:port/old address
    sa.Column("old_address", sa.String(320), nullable=False),
    sa.Column("new_address", sa.String(320), nullable=False),
    sa.Column("account_id", sa.Integer, nullable=True),
    # pending | running | done | paused | interrupted | refused | over_quota | failed
    sa.Column("status", sa.String(16), nullable=False),
    sa.Column("source_messages", sa.BigInteger, nullable=False, server_default="0"),
    sa.Column("source_bytes", sa.BigInteger, nullable=False, server_default="0"),
    sa.Column("messages", sa.BigInteger, nullable=False, server_default="0"),  # imported in this run
    sa.Column("bytes", sa.BigInteger, nullable=False, server_default="0"),
    sa.Column("error", sa.Text, nullable=True),  # Vietnamese / English
    sa.Column("started_at", Timestamp, nullable=True),
    sa.Column("finished_at", Timestamp, nullable=True),
)

import_folder = sa.Table(
    "import_folder",
    metadata,
    sa.Column("id", sa.Integer, primary_key=True),
    sa.Column("account_id", sa.Integer, nullable=False),
    sa.Column("source", sa.String(600), nullable=False),
    sa.Column("source_name", sa.String(1000), nullable=False),
    sa.Column("target_name", sa.String(1000), nullable=False),
    sa.Column("uidvalidity", sa.BigInteger, nullable=False),
    sa.Column("last_uid", sa.BigInteger, nullable=False, server_default="0"),
    sa.Column("target_mark", sa.BigInteger, nullable=False, server_default="0"),
    sa.Column("source_messages", sa.BigInteger, nullable=False, server_default="0"),
    sa.Column("source_bytes", sa.BigInteger, nullable=False, server_default="0"),
    sa.Column("messages", sa.BigInteger, nullable=False, server_default="0"),  # imported, all runs
    sa.Column("bytes", sa.BigInteger, nullable=False, server_default="0"),
    sa.Column("updated_at", Timestamp, nullable=False),
    sa.UniqueConstraint("account_id", "source", "source_name"),
)

# What an import left behind and why (too large, unreadable on the source, refused by the store).
import_skip = sa.Table(
    "import_skip",
    metadata,
    sa.Column("id", sa.BigInteger().with_variant(sa.Integer, "sqlite"), primary_key=True),
    sa.Column("mailbox_id", sa.Integer, sa.ForeignKey("import_mailbox.id"), nullable=False, index=True),
    sa.Column("folder", sa.String(1000), nullable=False),
    sa.Column("uid", sa.BigInteger, nullable=False),
    sa.Column("size", sa.BigInteger, nullable=False, server_default="0"),
    sa.Column("reason", sa.String(32), nullable=False),
    sa.Column("detail", sa.Text, nullable=False, server_default=""),
)
