"""The directory: agencies, accounts, aliases, delegations, roles, requests and the audit log.

Services here apply `policy` (the regulation) and persist through `store`; every change they make
writes an audit event in the same transaction. They answer "who is this, what may they do, how big
is their quota"; what is in a mailbox is the mail store's business.
"""
