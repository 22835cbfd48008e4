"""Hộp Thư: the e-mail system of Can Tho city's government.

One program hosts every role (SMTP, IMAP, web, workers); `policy` holds the regulation as pure
functions, `directory` the people and agencies, `mail` the parsed message model, `store` persistence.
"""

__version__ = "0.1.0"
