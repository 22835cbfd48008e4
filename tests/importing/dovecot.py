"""A real Dovecot (Debian's 2.3) standing in for a former province's mail server.

`Dovecot(root)` writes a configuration into `root` (its own base and state folders, a free port on
127.0.0.1, passwd-file users with plain passwords, a master user with `*` as separator, Maildir
mail, Exchange-style special folders "Sent Items", "Deleted Items", "Junk E-mail"), starts
`dovecot -F` and stops it again. Run as root, the login processes run as `dovenull` and the mail as
`dovecot` (Dovecot refuses root for both); otherwise everything runs as the current user.
`seed` fills mailboxes with IMAP APPEND (imaplib), folders named in Unicode (sent in modified UTF-7).
Used by the tests in this folder and by `bench/migrate.py`.
"""

from __future__ import annotations

import contextlib
import datetime as dt
import getpass
import imaplib
import os
import pwd
import shutil
import signal
import socket
import subprocess
import tempfile
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

from hopthu.imap.mutf7 import encode_mutf7

DOVECOT = shutil.which("dovecot") or "/usr/sbin/dovecot"
MASTER = ("quantri", "Master-Pass-1")
SPECIAL = {"Sent Items": "\\Sent", "Deleted Items": "\\Trash", "Junk E-mail": "\\Junk"}


def available() -> bool:
    return Path(DOVECOT).exists()


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def quoted(name: str) -> str:
    """A folder name as imaplib must send it: modified UTF-7, quoted."""
    return '"' + encode_mutf7(name).replace("\\", "\\\\").replace('"', '\\"') + '"'


@dataclass
class Dovecot:
    root: Path
    users: dict[str, str]
    port: int = 0
    tls_port: int = 0
    cert: tuple[Path, Path] | None = None  # (certificate, key): TLS on `tls_port` and STARTTLS

    def __post_init__(self) -> None:
        self.port = self.port or free_port()
        if self.cert is not None:
            self.tls_port = self.tls_port or free_port()
        self._process: subprocess.Popen[bytes] | None = None
        self.root.mkdir(parents=True, exist_ok=True)
        os.chmod(self.root, 0o755)
        root = os.geteuid() == 0
        self.mail_user = "dovecot" if root else getpass.getuser()
        self.login_user = "dovenull" if root else getpass.getuser()
        for sub in ("run", "state", "mail", "home"):
            (self.root / sub).mkdir(exist_ok=True)
            os.chmod(
                self.root / sub, 0o755
            )  # whatever the umask (a command run in this process may tighten it)
        if root:
            entry = pwd.getpwnam(self.mail_user)
            for sub in ("mail", "home"):
                os.chown(self.root / sub, entry.pw_uid, entry.pw_gid)
        self.write_users()
        (self.root / "masters").write_text(f"{MASTER[0]}:{{PLAIN}}{MASTER[1]}\n")
        (self.root / "dovecot.conf").write_text(self._config())
        for name in ("masters", "dovecot.conf"):
            os.chmod(self.root / name, 0o644)  # read by Dovecot's unprivileged auth worker

    def write_users(self) -> None:
        """The passwd file (Dovecot reads it again when it changes)."""
        lines = "".join(f"{user}:{{PLAIN}}{password}\n" for user, password in self.users.items())
        (self.root / "users").write_text(lines)
        os.chmod(self.root / "users", 0o644)  # read by Dovecot's unprivileged auth worker

    def _config(self) -> str:
        r = self.root
        group = pwd.getpwnam(self.mail_user).pw_gid
        tls = (
            f"ssl = yes\nssl_cert = <{self.cert[0]}\nssl_key = <{self.cert[1]}\n"
            if self.cert
            else "ssl = no\n"
        )
        specials = "".join(
            f'  mailbox "{name}" {{\n    special_use = {use}\n    auto = subscribe\n  }}\n'
            for name, use in SPECIAL.items()
        )
        return f"""protocols = imap
listen = 127.0.0.1
base_dir = {r}/run
state_dir = {r}/state
instance_name = hopthu-test-{self.port}
log_path = {r}/dovecot.log
{tls}disable_plaintext_auth = no
auth_mechanisms = plain login
auth_master_user_separator = *
auth_failure_delay = 0
default_internal_user = {self.mail_user}
default_internal_group = {pwd.getpwnam(self.mail_user).pw_name}
default_login_user = {self.login_user}
mail_location = maildir:{r}/mail/%u
mail_uid = {self.mail_user}
mail_gid = {group}
first_valid_uid = 1
mail_fsync = never
mail_max_userip_connections = 100
service imap-login {{
  chroot =
  inet_listener imap {{
    address = 127.0.0.1
    port = {self.port}
  }}
  inet_listener imaps {{
    address = 127.0.0.1
    port = {self.tls_port}
  }}
}}
service anvil {{
  chroot =
}}
passdb {{
  driver = passwd-file
  args = scheme=PLAIN username_format=%u {r}/masters
  master = yes
  pass = yes
}}
passdb {{
  driver = passwd-file
  args = scheme=PLAIN username_format=%u {r}/users
}}
userdb {{
  driver = static
  args = uid={self.mail_user} gid={group} home={r}/home/%u
}}
namespace inbox {{
  inbox = yes
  separator = /
{specials}}}
"""

    def start(self, timeout: float = 15) -> None:
        (self.root / "run" / "master.pid").unlink(missing_ok=True)
        self._process = subprocess.Popen(
            [DOVECOT, "-F", "-c", str(self.root / "dovecot.conf")],
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
            start_new_session=True,  # its own process group: `stop` ends every child with it
        )
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self._process.poll() is not None:
                raise RuntimeError(f"dovecot exited: {self.log()[-2000:]}")
            with contextlib.suppress(OSError), socket.create_connection(("127.0.0.1", self.port), 1) as probe:
                if probe.recv(100).startswith(b"* OK"):
                    return
            time.sleep(0.05)
        raise RuntimeError(f"dovecot did not start: {self.log()[-2000:]}")

    def stop(self) -> None:
        """Stop the server and every process of it, the sessions of connected clients included
        (as when the machine goes away): Dovecot's own shutdown leaves sessions running."""
        if self._process is None:
            return
        group = self._process.pid
        with contextlib.suppress(ProcessLookupError):
            os.killpg(group, signal.SIGTERM)
        try:
            self._process.wait(10)
        except subprocess.TimeoutExpired:
            self._process.kill()
            self._process.wait(5)
        with contextlib.suppress(ProcessLookupError):
            os.killpg(group, signal.SIGKILL)
        self._process = None
        deadline = time.monotonic() + 10
        while time.monotonic() < deadline:
            try:
                os.killpg(group, 0)
            except ProcessLookupError:
                return
            time.sleep(0.05)

    def log(self) -> str:
        path = self.root / "dovecot.log"
        return path.read_text(errors="replace") if path.exists() else ""

    @contextlib.contextmanager
    def client(self, user: str) -> Iterator[imaplib.IMAP4]:
        """imaplib signed in as `user` (through the master login: any user's mailbox)."""
        client = imaplib.IMAP4("127.0.0.1", self.port, timeout=30)
        try:
            client.login(f"{user}*{MASTER[0]}", MASTER[1])
            yield client
        finally:
            with contextlib.suppress(Exception):
                client.logout()

    def append(
        self,
        client: imaplib.IMAP4,
        folder: str,
        data: bytes,
        flags: tuple[str, ...] = (),
        when: dt.datetime | None = None,
    ) -> None:
        date = imaplib.Time2Internaldate(when) if when else None
        typ, answer = client.append(quoted(folder), f"({' '.join(flags)})" if flags else None, date, data)
        assert typ == "OK", answer


def temporary_root() -> Path:
    """A folder the unprivileged Dovecot users can enter (pytest's own tmp is private to its user)."""
    return Path(tempfile.mkdtemp(prefix="hopthu-dovecot-"))


def remove(root: Path) -> None:
    shutil.rmtree(root, ignore_errors=True)
