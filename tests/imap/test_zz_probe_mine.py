import socket, time, base64
from tests.imap.conftest import message, insecure_tls, PASSWORD
from hopthu.directory.people import PersonRow

class Raw:
    def __init__(self, sock):
        self.sock = sock
        self.f = sock.makefile("rb")
    def send(self, data):
        self.sock.sendall(data)
    def line(self):
        return self.f.readline()
    def cmd(self, tag, text):
        self.send(tag.encode() + b" " + text + b"\r\n")
        return self.until(tag)
    def until(self, tag):
        out = []
        while True:
            l = self.line()
            out.append(l)
            if not l or l.startswith(tag.encode() + b" "):
                return out

def raw(srv, tls=True, login=None):
    s = socket.create_connection(("127.0.0.1", srv.port("imap")), timeout=10)
    r = Raw(s)
    r.line()
    if tls:
        r.cmd("t", b"STARTTLS")
        s2 = insecure_tls().wrap_socket(s, server_hostname="mail.cantho.gov.vn")
        r = Raw(s2)
    if login:
        print(r.cmd("l", b"LOGIN " + login.encode() + b" " + PASSWORD.encode()))
    return r

def test_probe(imapserver):
    r = raw(imapserver, login="nvminh")
    print(r.cmd("a", b"CREATE x"))
    print(r.cmd("b", b"RENAME x Shared"))
    print(r.cmd("c", b'LIST "" *'))
    print(r.cmd("d", b'RENAME Shared Shared/sonv/foo'))
    print(r.cmd("e", b'CREATE "Shared/sonv/INBOX/sub"'))
    print(r.cmd("e2", b'CREATE "Shared/nobody/x"'))
    print(r.cmd("f", b'STATUS "Shared/sonv/INBOX/sub" (MESSAGES UIDNEXT UIDVALIDITY UNSEEN DELETED SIZE HIGHESTMODSEQ)'))
    print(r.cmd("g", b'SELECT "Shared/sonv/INBOX"'))
    print(r.cmd("h", b'DELETE "Shared/sonv/INBOX/sub"'))
    print(r.cmd("i", b'CREATE "&Jjo"'))
    print(r.cmd("j", b'STATUS "&Jjo-&Jjo-" (MESSAGES)'))
    print(r.cmd("k", b'GETQUOTAROOT nothere'))
    print(r.cmd("l", b'SUBSCRIBE nothere'))
    print(r.cmd("m", b'APPEND nothere {3+}\r\nabc'))
    print(r.cmd("n", b'APPEND INBOX {0+}\r\n'))
