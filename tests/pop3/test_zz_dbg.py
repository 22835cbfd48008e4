import time, pytest
from tests.pop3 import test_clients as t
from tests.factories import make_message

async def test_dbg(pop3):
    t0=time.monotonic()
    big = make_message("Thư lớn", "Nội dung.", size=3 * 1024 * 1024)
    print("make", time.monotonic()-t0)
    await pop3.deliver("nvminh", big)
    print("deliver", time.monotonic()-t0)
    c = await t.signed_in_eventually(pop3)
    print("signin", time.monotonic()-t0)
    r = await t.call(c.retr, 1)
    print("retr", time.monotonic()-t0)
    await t.call(c.quit)
