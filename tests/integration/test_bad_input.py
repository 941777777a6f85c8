"""Every row of /work/shared/docs/bad-input.md sections A-H against the real proxyd.

Each test sends the row's raw bytes and asserts (1) the status line, (2) whether the client
connection closes, and (3) the desync oracle: a victim request on a second connection gets its
own response, and the fake backend received exactly the expected requests (method, target,
framing, body), with nothing smuggled and no half-sent request left on an open connection.
proxyd runs with one worker so the attacker and the victim share the upstream pool.
"""

import re
import socket
import threading
import time

from lib.backend import FakeBackend, Reply, canonical_body, simple_response
from lib.check import (E, Env, accept, backend_settled, check_close, check_local_reply,
                       expect_backend, oracle, reject, reject_or_accept, send_and_read, victim)
from lib.client import Client, Closed
from lib.util import Skip, SubCases, TestFailure, check, fail, poll_until, show, wait_until

P = b"POST / HTTP/1.1\r\nHost: a\r\n"
PC = P + b"Transfer-Encoding: chunked\r\n\r\n"
GET = b"GET / HTTP/1.1\r\nHost: a\r\n"
CHUNKED_HELLO = b"5\r\nhello\r\n0\r\n\r\n"


def rejects(variants, codes=(400,), close=True, allow_aborted=False, method=b"GET", **env_kw):
    """One proxyd, one sub-case per (name, raw) variant, each a reject() with its own oracle."""
    sc = SubCases()
    with Env(**env_kw) as env:
        for name, raw in variants:
            with sc(name):
                reject(env, raw, codes=codes, close=close, allow_aborted=allow_aborted,
                       method=method)
    sc.done()


# ============================== A. Message framing ============================================
def test_A1_cl_and_te():
    raw = P + b"Content-Length: 6\r\nTransfer-Encoding: chunked\r\n\r\n0\r\n\r\nG"
    with Env() as env:
        # 400+close, or forward with CL removed (chunked, empty body) and close.
        reject_or_accept(env, raw, (400,), [E("POST", "/", b"", framing="chunked",
                                                 absent=["content-length"])],
                         method=b"POST", accept_keepalive=False, accept_close=True)


def test_A2_chunked_not_final():
    rejects([("chunked, identity", P + b"Transfer-Encoding: chunked, identity\r\n\r\n"
              + CHUNKED_HELLO),
             ("gzip", P + b"Transfer-Encoding: gzip\r\n\r\n" + CHUNKED_HELLO)], method=b"POST")


def test_A3_unknown_coding_with_cl():
    rejects([("xchunked+CL", P + b"Transfer-Encoding: xchunked\r\nContent-Length: 5\r\n\r\nhello")],
            codes=(400, 501), method=b"POST")


def test_A4_te_whitespace_mutations():
    rejects([("VT before value", P + b"Transfer-Encoding:\x0bchunked\r\n\r\n" + CHUNKED_HELLO),
             ("space before colon", P + b"Transfer-Encoding : chunked\r\n\r\n" + CHUNKED_HELLO),
             ("space-led first field", b"POST / HTTP/1.1\r\n Transfer-Encoding: chunked\r\n"
              b"Host: a\r\n\r\n" + CHUNKED_HELLO)], method=b"POST")


def test_A5_te_two_lines():
    rejects([("chunked + identity lines", P + b"Transfer-Encoding: chunked\r\n"
              b"Transfer-Encoding: identity\r\n\r\n" + CHUNKED_HELLO)], method=b"POST")


def test_A6_te_uppercase_accepted():
    with Env() as env:
        accept(env, P + b"Transfer-Encoding: CHUNKED\r\n\r\n" + CHUNKED_HELLO,
               [E("POST", "/", b"hello", framing="chunked")], method=b"POST")


def test_A7_chunked_twice():
    rejects([("chunked, chunked", P + b"Transfer-Encoding: chunked, chunked\r\n\r\n"
              + CHUNKED_HELLO)], method=b"POST")


def test_A8_chunked_with_parameter():
    rejects([("chunked;ext=1", P + b"Transfer-Encoding: chunked;ext=1\r\n\r\n" + CHUNKED_HELLO)],
            method=b"POST")


def test_A9_two_different_cl():
    rejects([("CL 5 + CL 6", P + b"Content-Length: 5\r\nContent-Length: 6\r\n\r\nhello!")],
            method=b"POST")


def test_A10_cl_list_identical():
    with Env() as env:
        reject_or_accept(env, P + b"Content-Length: 5, 5\r\n\r\nhello", (400,),
                         [E("POST", "/", b"hello", framing="length",
                            headers={"content-length": b"5"})], method=b"POST")


def test_A11_cl_not_digits():
    rejects([(v.decode(), P + b"Content-Length: " + v + b"\r\n\r\nhello")
             for v in (b"+5", b"-1", b"0x5", b"5.0", b"5 a", b"")], method=b"POST")


def test_A12_cl_overflow():
    rejects([("23 nines", P + b"Content-Length: 99999999999999999999999\r\n\r\nhello")],
            codes=(400, 413), method=b"POST")


def test_A13_te_on_http10():
    rejects([("1.0 TE+CL", b"POST / HTTP/1.0\r\nHost: a\r\nTransfer-Encoding: chunked\r\n"
              b"Content-Length: 5\r\n\r\n" + CHUNKED_HELLO)], method=b"POST")


def test_A14_get_with_body_not_a_second_request():
    body = b"GET /admin HTTP/1.1\r\nHost: a\r\n\r\n"
    raw = b"GET / HTTP/1.1\r\nHost: a\r\nContent-Length: %d\r\n\r\n" % len(body) + body
    with Env() as env:
        reject_or_accept(env, raw, (400,), [E("GET", "/", body, framing="length")])


def test_A15_post_without_body_gets_cl0():
    with Env() as env:
        accept(env, P + b"\r\n", [E("POST", "/", b"", framing="length",
                                    headers={"content-length": b"0"})], method=b"POST")


# ============================== B. Chunked body ===============================================
def test_B1_chunk_size_syntax():
    rejects([(n, PC + v) for n, v in (
        ("5x", b"5x\r\nhello\r\n0\r\n\r\n"),
        ("0x5", b"0x5\r\nhello\r\n0\r\n\r\n"),
        ("+5", b"+5\r\nhello\r\n0\r\n\r\n"),
        ("space 5", b" 5\r\nhello\r\n0\r\n\r\n"),
        ("-1", b"-1\r\nhello\r\n0\r\n\r\n"))], allow_aborted=True, method=b"POST")


def test_B2_chunk_size_overflow():
    rejects([("17 hex digits", PC + b"FFFFFFFFFFFFFFFF1\r\nhello\r\n0\r\n\r\n")],
            codes=(400, 413), allow_aborted=True, method=b"POST")


def test_B3_chunk_overrun():
    rejects([("3 then 6 bytes", PC + b"3\r\nabcdef\r\n0\r\n\r\n")], allow_aborted=True,
            method=b"POST")


def test_B4_bare_lf_in_chunks():
    with Env() as env:
        reject_or_accept(env, PC + b"5\nhello\n0\n\n", (400,),
                         [E("POST", "/", b"hello", framing="chunked")], method=b"POST",
                         allow_aborted=True)


def test_B5_chunk_ext_terminators():
    rejects([("unterminated quote", PC + b"5;a=\"x\r\nhello\r\n0\r\n\r\n"),
             ("bare LF after ;", PC + b"5;\nhello\r\n0\r\n\r\n"),
             ("bare CR in ext", PC + b"5;a\rb\r\nhello\r\n0\r\n\r\n")],
            allow_aborted=True, method=b"POST")


def test_B6_huge_chunk_extension():
    rejects([("64 KiB ext", PC + b"5;" + b"a" * 65536 + b"\r\nhello\r\n0\r\n\r\n")],
            codes=(400, 413, 431), allow_aborted=True, method=b"POST")


def test_B7_truncated_body_then_close():
    """The client stops mid-body: nothing may reach the backend as a complete request, and a
    half-sent upstream request must be aborted (connection closed), never reused."""
    sc = SubCases()
    with Env() as env:
        for name, raw in (("chunked 5 then 'hel'", PC + b"5\r\nhel"),
                          ("CL 10 then 'hello'", P + b"Content-Length: 10\r\n\r\nhello")):
            with sc(name):
                env.A.reset()
                c, r = send_and_read(env, raw, method=b"POST", shut=True)
                if r is not None:
                    check(r.status >= 400, "truncated request answered %d" % r.status)
                    check_close(c, r, True)
                c.close()
                oracle(env, [], allow_aborted=True)
    sc.done()


def test_B8_trailers_never_promoted():
    raw = PC + b"0\r\nContent-Length: 5\r\nHost: evil\r\n\r\n"
    with Env() as env:
        reject_or_accept(env, raw, (400,),
                         [E("POST", "/", b"", framing="chunked", host=b"a",
                            absent=["content-length"],
                            trailers_absent=("content-length", "host"))],
                         method=b"POST", allow_aborted=True)


def test_B9_whitespace_after_chunk_size():
    sc = SubCases()
    with Env() as env:
        with sc("'5 ' rejected"):
            reject(env, PC + b"5 \r\nhello\r\n0\r\n\r\n", allow_aborted=True, method=b"POST")
        with sc("'5 ;x=y' accepted"):
            accept(env, PC + b"5 ;x=y\r\nhello\r\n0\r\n\r\n",
                   [E("POST", "/", b"hello", framing="chunked")], method=b"POST")
    sc.done()


# ============================== C. Request line ===============================================
def test_C1_request_line_whitespace():
    rejects([("two spaces", b"GET  / HTTP/1.1\r\nHost: a\r\n\r\n"),
             ("tabs", b"GET\t/\tHTTP/1.1\r\nHost: a\r\n\r\n"),
             ("VT", b"GET /\x0bHTTP/1.1\r\nHost: a\r\n\r\n")])


def test_C2_method_token():
    sc = SubCases()
    with Env() as env:
        with sc("G@T"):
            reject(env, b"G@T / HTTP/1.1\r\nHost: a\r\n\r\n")
        with sc("unknown FOO"):
            # 501 if methods are restricted, else forwarded as a valid token.
            reject_or_accept(env, b"FOO / HTTP/1.1\r\nHost: a\r\n\r\n", (501,),
                             [E("FOO", "/", framing="none")], close="auto")
    sc.done()


def test_C3_long_method():
    rejects([("1 KiB method", b"A" * 1024 + b" / HTTP/1.1\r\nHost: a\r\n\r\n")], codes=(501,))


def test_C4_long_target():
    rejects([("9000-byte target", b"GET /" + b"a" * 9000 + b" HTTP/1.1\r\nHost: a\r\n\r\n")],
            codes=(414,))


def test_C5_versions():
    sc = SubCases()
    with Env() as env:
        with sc("HTTP/1.2 as 1.1"):
            accept(env, b"GET / HTTP/1.2\r\nHost: a\r\n\r\n", [E("GET", "/", framing="none")])
        with sc("HTTP/2.0 -> 505"):
            reject(env, b"GET / HTTP/2.0\r\nHost: a\r\n\r\n", codes=(505,))
        with sc("http/1.1 -> 400"):
            reject(env, b"GET / http/1.1\r\nHost: a\r\n\r\n")
        with sc("HTTP/1.10 -> 400"):
            reject(env, b"GET / HTTP/1.10\r\nHost: a\r\n\r\n")
    sc.done()


def test_C6_http09():
    with Env() as env:
        reject(env, b"GET /\r\n\r\n", allow_silent_close=True)


def test_C7_target_bytes():
    rejects([("NUL", b"GET /a\x00b HTTP/1.1\r\nHost: a\r\n\r\n"),
             ("space", b"GET /a b HTTP/1.1\r\nHost: a\r\n\r\n"),
             ("bare CR", b"GET /a\rb HTTP/1.1\r\nHost: a\r\n\r\n")])


def test_C8_leading_empty_lines():
    sc = SubCases()
    with Env() as env:
        with sc("two empty lines accepted"):
            accept(env, b"\r\n\r\nGET / HTTP/1.1\r\nHost: a\r\n\r\n", [E("GET", "/")])
        with sc("1000 empty lines limited"):
            reject(env, b"\r\n" * 1000 + b"GET / HTTP/1.1\r\nHost: a\r\n\r\n",
                   allow_silent_close=True)
    sc.done()


def test_C9_absolute_form_authority_wins():
    """Route on the target's authority `b` and send Host: b upstream, or 400."""
    with Env(backends=("A", "B")) as env:
        c, r = send_and_read(env, b"GET http://b/x HTTP/1.1\r\nHost: a\r\n\r\n")
        check(r is not None, "closed without a response")
        if r.status == 400:
            check_local_reply(r, {400})
            check_close(c, r, True)
            expect_backend(env.B, [])
        else:
            check(r.status == 200 and r.body == b"B GET /x len=0",
                  "absolute-form answered %s %s, expected B's reply" % (r.status, show(r.body)))
            expect_backend(env.B, [E("GET", "/x", host=b"b")])
        c.close()
        oracle(env, [])


def test_C10_asterisk_and_connect():
    sc = SubCases()
    with Env() as env:
        with sc("OPTIONS * is fine"):
            env.A.reset()
            c, r = send_and_read(env, b"OPTIONS * HTTP/1.1\r\nHost: a\r\n\r\n")
            check(r is not None and 200 <= r.status < 300,
                  "OPTIONS * answered %s" % (r.status if r else "nothing"))
            check_close(c, r, False)
            c.close()
            fwd = backend_settled(env.A, 1, timeout=0.5)
            oracle(env, [E("OPTIONS", "*")] if fwd else [])
        with sc("GET * -> 400"):
            reject(env, b"GET * HTTP/1.1\r\nHost: a\r\n\r\n")
        with sc("CONNECT -> 405/501"):
            reject(env, b"CONNECT a:443 HTTP/1.1\r\nHost: a:443\r\n\r\n", codes=(405, 501),
                   close="auto")
    sc.done()


def test_C11_fragment_in_target():
    rejects([("#frag", b"GET /a#frag HTTP/1.1\r\nHost: a\r\n\r\n")])


# ============================== D. Field syntax ===============================================
def test_D1_space_before_colon():
    rejects([("Host : a", b"GET / HTTP/1.1\r\nHost : a\r\n\r\n"),
             ("Content-Length : 5", P + b"Content-Length : 5\r\n\r\nhello")], method=b"POST")


def test_D2_obs_fold():
    rejects([("X folded", GET + b"X: a\r\n b\r\n\r\n"),
             ("TE folded", P + b"Transfer-Encoding: \r\n chunked\r\n\r\n" + CHUNKED_HELLO),
             ("CL folded", P + b"Content-Length: \r\n 5\r\n\r\nhello"),
             ("Host folded", b"GET / HTTP/1.1\r\nHost: \r\n a\r\n\r\n")])


def test_D3_whitespace_led_first_field():
    rejects([("space Host", b"GET / HTTP/1.1\r\n Host: a\r\n\r\n"),
             ("tab X then Host", b"GET / HTTP/1.1\r\n\tX: y\r\nHost: a\r\n\r\n")])


def test_D4_field_without_colon():
    rejects([("Foo", GET + b"Foo\r\n\r\n")])


def test_D5_empty_field_name():
    rejects([(": x", GET + b": x\r\n\r\n")])


def test_D6_field_name_bytes():
    rejects([("Fo o", GET + b"Fo o: x\r\n\r\n"), ("Foo@", GET + b"Foo@: x\r\n\r\n"),
             ("NUL", GET + b"Fo\x00o: x\r\n\r\n"), ("non-ASCII", GET + b"F\xe9o: x\r\n\r\n")])


def test_D7_value_ctl():
    rejects([("bare CR", GET + b"X: a\rb\r\n\r\n"), ("NUL", GET + b"X: a\x00b\r\n\r\n")])


def test_D8_lf_only_request():
    with Env() as env:
        reject_or_accept(env, b"GET / HTTP/1.1\nHost: a\n\n", (400,),
                         [E("GET", "/", framing="none")])


def test_D9_bare_cr_injection():
    rejects([("Host: a\\rX-Admin", b"GET / HTTP/1.1\r\nHost: a\rX-Admin: 1\r\n\r\n")])


def test_D10_underscore_names():
    sc = SubCases()
    with Env() as env:
        for name, field, extra in (
                ("Content_Length", b"Content_Length: 5", {}),
                ("Transfer_Encoding", b"Transfer_Encoding: chunked", {}),
                ("X_Forwarded_For", b"X_Forwarded_For: 1.2.3.4",
                 {"x-forwarded-for": b"127.0.0.1"})):
            with sc(name):
                reject_or_accept(env, GET + field + b"\r\n\r\n", (400,),
                                 [E("GET", "/", framing="none", headers=extra,
                                    absent=[name.lower()])])
    sc.done()


def test_D11_cl_with_ows():
    with Env() as env:
        accept(env, P + b"Content-Length:  5 \r\n\r\nhello",
               [E("POST", "/", b"hello", framing="length")], method=b"POST")


def test_D12_obs_text_value():
    with Env() as env:
        accept(env, GET + b"X: caf\xe9\r\n\r\n", [E("GET", "/", headers={"x": b"caf\xe9"})])


# ============================== E. Host and routing ===========================================
def test_E1_no_host():
    rejects([("no Host", b"GET / HTTP/1.1\r\n\r\n")])


def test_E2_two_hosts():
    rejects([("Host a + Host b", b"GET / HTTP/1.1\r\nHost: a\r\nHost: b\r\n\r\n")])


def test_E3_invalid_host():
    rejects([(show(v), b"GET / HTTP/1.1\r\nHost: " + v + b"\r\n\r\n")
             for v in (b"a b", b"a/b", b"a@b", b"a:80:80", b"[::1", b"a\x00")])


def test_E4_empty_host():
    rejects([("Host empty", b"GET / HTTP/1.1\r\nHost:\r\n\r\n")], codes=(400, 421), close="auto")


def _norm_path(p):
    """What a typical backend makes of a path: unreserved %XX decoded, dot segments removed,
    slashes merged (nginx merge_slashes). Used to detect route/ACL bypass."""
    p = re.sub(r"%([0-9A-Fa-f]{2})",
               lambda m: chr(int(m.group(1), 16))
               if re.match(r"[A-Za-z0-9\-._~]", chr(int(m.group(1), 16))) else m.group(0), p)
    p = p.split("?", 1)[0]
    out = []
    for seg in p.split("/"):
        if seg == "..":
            if len(out) > 1:
                out.pop()
        elif seg != ".":
            out.append(seg)
    p = "/".join(out) or "/"
    return re.sub(r"/+", "/", p)


def test_E5_path_equivalence():
    """Route on one normalised form, forward what was matched: a request reaching the ordinary
    backend must not normalise to /admin at the backend, one reaching the admin backend must.
    %00 is rejected."""
    routers = [("Host(`a`) && PathPrefix(`/admin`)", "ADMIN"), ("Host(`a`)", "A")]
    sc = SubCases()
    with Env(backends=("A", "ADMIN"), routers=routers) as env:
        for path in ("/admin", "/%61dmin", "/./admin", "//admin", "/x/../admin",
                     "/x/%2e%2e/admin", "/admin;x", "/ADMIN", "/%2Fadmin", "/admin%2Fx",
                     "/admin%00"):
            with sc(path):
                env.A.reset()
                env.ADMIN.reset()
                c, r = send_and_read(env, b"GET " + path.encode() + b" HTTP/1.1\r\nHost: a\r\n\r\n")
                check(r is not None, "closed without a response")
                c.close()
                if path.endswith("%00"):
                    check(r.status == 400, "%%00 answered %d, expected 400" % r.status)
                if r.status == 400:
                    print("E5 %-16s -> 400" % path)
                    expect_backend(env.A, [])
                    expect_backend(env.ADMIN, [])
                    continue
                check(r.status == 200, "status %d" % r.status)
                a, adm = env.A.requests(), env.ADMIN.requests()
                check(len(a) + len(adm) == 1, "forwarded %d times" % (len(a) + len(adm)))
                fwd = (a or adm)[0].target.decode("latin-1")
                n = _norm_path(fwd)
                print("E5 %-16s -> %s as %r" % (path, "ADMIN" if adm else "A", fwd))
                if adm:
                    check(n == "/admin" or n.startswith("/admin"),
                          "routed to ADMIN but forwarded %r (normalises to %r)" % (fwd, n))
                else:
                    check(not n.startswith("/admin"),
                          "ACL bypass: routed to A but forwarded %r, which a backend reads as %r"
                          % (fwd, n))
        with sc("victim"):
            oracle(env, [])
    sc.done()


# ============================== F. Hop-by-hop and semantics ====================================
def test_F1_connection_listed_fields():
    sc = SubCases()
    with Env() as env:
        with sc("close, X-Forwarded-For"):
            accept(env, GET + b"Connection: close, X-Forwarded-For\r\n"
                   b"X-Forwarded-For: 1.2.3.4\r\n\r\n",
                   [E("GET", "/", headers={"x-forwarded-for": b"127.0.0.1"})],
                   keepalive=False, close=True)
        with sc("X-Custom listed"):
            accept(env, GET + b"Connection: X-Custom\r\nX-Custom: 1\r\n\r\n",
                   [E("GET", "/", absent=["x-custom"])])
        with sc("Connection: Host"):
            reject(env, GET + b"Connection: Host\r\n\r\n")
        with sc("Connection: Content-Length"):
            reject(env, P + b"Connection: Content-Length\r\nContent-Length: 5\r\n\r\nhello",
                   method=b"POST")
    sc.done()


def test_F2_forwarded_headers_untrusted_peer():
    spoof = (b"X-Forwarded-For: 1.2.3.4\r\nX-Real-IP: 1.2.3.4\r\nX-Forwarded-Host: evil\r\n"
             b"X-Forwarded-Proto: https\r\nX-Forwarded-Port: 1\r\nX-Forwarded-Server: evil\r\n"
             b"Forwarded: for=1.2.3.4\r\n")
    with Env() as env:
        r, reqs = accept(env, GET + spoof + b"\r\n",
                         [E("GET", "/", headers={"x-forwarded-for": b"127.0.0.1",
                                                 "x-real-ip": b"127.0.0.1",
                                                 "x-forwarded-host": b"a",
                                                 "x-forwarded-proto": b"http"})])
        check(reqs[0].get("x-forwarded-server") != b"evil", "X-Forwarded-Server kept from client")
        check(reqs[0].get("x-forwarded-port") != b"1", "X-Forwarded-Port kept from client")


def test_F2_forwarded_headers_trusted_peer():
    with Env(entrypoint={"forwardedHeaders": {"trustedIPs": ["127.0.0.1/32"]}}) as env:
        r, reqs = accept(env, GET + b"X-Forwarded-For: 1.2.3.4\r\n\r\n", [E("GET", "/")])
        xff = b", ".join(reqs[0].all("x-forwarded-for"))
        check(xff == b"1.2.3.4, 127.0.0.1",
              "trusted peer: X-Forwarded-For %r, expected '1.2.3.4, 127.0.0.1'" % xff)


def test_F3_hop_by_hop_stripped():
    with Env() as env:
        accept(env, GET + b"Keep-Alive: timeout=5\r\nProxy-Connection: keep-alive\r\n"
               b"TE: trailers\r\nUpgrade: foo\r\n\r\n",
               [E("GET", "/", absent=["keep-alive", "proxy-connection", "te", "upgrade"])])


def _upgrade_101_responder(name):
    def resp(req):
        if req.get("upgrade") is not None:
            return Reply(b"HTTP/1.1 101 Switching Protocols\r\nConnection: Upgrade\r\n"
                         b"Upgrade: " + req.get("upgrade") + b"\r\n\r\n")
        return simple_response(canonical_body(name, req))
    return resp


def test_F4_h2c_upgrade_not_tunnelled():
    with Env(backends={"A": FakeBackend("A", responder=_upgrade_101_responder("A"))}) as env:
        reject_or_accept(env, GET + b"Connection: Upgrade, HTTP2-Settings\r\nUpgrade: h2c\r\n"
                         b"HTTP2-Settings: AAMAAABkAARAAAAAAAIAAAAA\r\n\r\n", (400,),
                         [E("GET", "/", absent=["upgrade", "http2-settings"])])


def test_F5_websocket_without_101_stays_http():
    """The backend refuses the upgrade (426 / 200). The next bytes on the client connection
    must be parsed as HTTP by the proxy (here: routed to B), never tunnelled to A."""
    for status in (b"426 Upgrade Required", b"200 OK"):
        def resp(req, status=status):
            if req.get("upgrade") is not None:
                return Reply(b"HTTP/1.1 " + status + b"\r\nContent-Length: 2\r\n\r\nno")
            return simple_response(canonical_body("A", req))
        with Env(backends={"A": FakeBackend("A", responder=resp), "B": FakeBackend("B")}) as env:
            c = env.client()
            c.send(b"GET /chat HTTP/1.1\r\nHost: a\r\nConnection: Upgrade\r\nUpgrade: websocket\r\n"
                   b"Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\n"
                   b"Sec-WebSocket-Version: 13\r\n\r\n")
            r = c.read_response()
            want = int(status[:3])
            check(r.status == want and r.body == b"no", "upgrade refused with %s, client got %s"
                  % (status, r))
            c.send(b"GET /admin HTTP/1.1\r\nHost: b\r\n\r\n")
            try:
                r2 = c.read_response()
                check(r2.status == 200 and r2.body == b"B GET /admin len=0",
                      "after a %s the next request got %s (tunnelled?)" % (status, r2))
                expect_backend(env.B, [E("GET", "/admin")])
            except Closed:
                expect_backend(env.B, [])
            c.close()
            oracle(env, [E("GET", "/chat", ws=True)])


def test_F6_expect_100_backend_answers():
    """Expect: 100-continue with a body: the client must see a 100 (forwarded from the backend
    or made by the proxy) and the body must arrive."""
    def on_head(req):
        if (req.get("expect") or b"").lower() == b"100-continue":
            return b"HTTP/1.1 100 Continue\r\n\r\n"
    with Env(backends={"A": FakeBackend("A", on_head=on_head)}) as env:
        c = env.client()
        c.send(P + b"Expect: 100-continue\r\nContent-Length: 5\r\n\r\n")
        h = c.read_head(timeout=3)
        check(h.status == 100, "expected 100 Continue first, got %d" % h.status)
        c.send(b"hello")
        r = c.read_response(method=b"POST")
        check(r.status == 200 and r.body == b"A POST / len=5", "final response %s" % r)
        c.close()
        oracle(env, [E("POST", "/", b"hello", framing="length")])


def test_F6_expect_100_backend_silent_on_expect():
    """The backend never sends 100: the proxy answers 100 itself or forwards the expectation;
    either way the client (which sends the body after 1.5 s at the latest) gets its answer."""
    with Env() as env:
        c = env.client()
        c.send(P + b"Expect: 100-continue\r\nContent-Length: 5\r\n\r\n")
        early = c.recv_available(1.5)
        if early:
            check(early.startswith(b"HTTP/1.1 100 "), "before the body the proxy sent %s"
                  % show(early))
            c.buf = bytearray(early[early.find(b"\r\n\r\n") + 4:])
        c.send(b"hello")
        r = c.read_response(method=b"POST")
        check(r.status == 200 and r.body == b"A POST / len=5", "final response %s" % r)
        c.close()
        oracle(env, [E("POST", "/", b"hello", framing="length")])


def test_F6_expect_unknown_417():
    with Env() as env:
        reject(env, GET + b"Expect: foo\r\n\r\n", codes=(417,), close=None)


def test_F6_expect_on_http10_ignored():
    with Env() as env:
        c = env.client()
        c.send(b"POST / HTTP/1.0\r\nHost: a\r\nExpect: 100-continue\r\nContent-Length: 5\r\n\r\n")
        early = c.recv_available(0.5)
        check(not early, "HTTP/1.0 client got %s before sending the body" % show(early))
        c.send(b"hello")
        r = c.read_response(method=b"POST")
        check(not r.interim, "HTTP/1.0 client got interim responses %s" % r.interim)
        check(r.status == 200 and r.body == b"A POST / len=5", "final response %s" % r)
        check_close(c, None, True)
        c.close()
        oracle(env, [E("POST", "/", b"hello", framing="length")])


def test_F7_trace_and_max_forwards():
    sc = SubCases()
    with Env() as env:
        with sc("TRACE -> 405"):
            reject(env, b"TRACE / HTTP/1.1\r\nHost: a\r\n\r\n", codes=(405,), close=None)
        with sc("TRACE Max-Forwards 0 -> 405"):
            reject(env, b"TRACE / HTTP/1.1\r\nHost: a\r\nMax-Forwards: 0\r\n\r\n", codes=(405,),
                   close=None)
        with sc("OPTIONS Max-Forwards 0 answered locally"):
            env.A.reset()
            c, r = send_and_read(env, b"OPTIONS / HTTP/1.1\r\nHost: a\r\nMax-Forwards: 0\r\n\r\n")
            check(r is not None, "no answer")
            check(not r.body.startswith(b"A "), "forwarded to the backend (%s)" % r)
            c.close()
            oracle(env, [])
    sc.done()


def test_F8_via_added_and_loop_refused():
    sc = SubCases()
    with Env() as env:
        r, reqs = accept(env, GET + b"\r\n", [E("GET", "/")])
        via = reqs[0].all("via")[-1]
        node = via.split(b",")[-1].strip()  # "1.1 <node>"
        with sc("own pseudonym -> 400"):
            reject(env, GET + b"Via: " + node + b"\r\n\r\n")
        with sc("foreign Via kept, ours appended"):
            r, reqs = accept(env, GET + b"Via: 1.0 other\r\n\r\n", [E("GET", "/")])
            got = b", ".join(reqs[0].all("via"))
            want = b"1.0 other, " + node
            check(got == want, "Via %r, expected %r" % (got, want))
    sc.done()


# ============================== G. Limits and slow attacks =====================================
def test_G1_long_header_line():
    rejects([("9000-byte field", GET + b"X: " + b"a" * 9000 + b"\r\n\r\n")], codes=(431,))


def test_G2_header_section_over_64k():
    fields = b"".join(b"X-%d: %s\r\n" % (i, b"v" * 4000) for i in range(20))
    rejects([("20 x 4000 bytes", GET + fields + b"\r\n")], codes=(431,))


def test_G3_too_many_fields():
    fields = b"".join(b"X-%d: v\r\n" % i for i in range(101))
    rejects([("101 fields", GET + fields + b"\r\n")], codes=(431, 400))


def test_G4_slowloris():
    """50 connections trickle header bytes; readHeaderTimeout 1s must close them all (408 or
    silently) while a normal client keeps being served."""
    ep = {"transport": {"respondingTimeouts": {"readHeaderTimeout": "1s"}}}
    with Env(entrypoint=ep) as env:
        socks = []
        for _ in range(50):
            s = socket.create_connection(env.addr, timeout=2)
            s.setblocking(False)
            s.send(b"GET / HTTP/1.1\r\nHost: a\r\n")
            socks.append(s)
        t0 = time.monotonic()
        closed_at = {}
        replies = {}
        served = []
        errors = []

        def normal_client():
            deadline = time.monotonic() + 3.5
            while time.monotonic() < deadline:
                t = time.monotonic()
                try:
                    c = Client(env.addr, timeout=2)
                    c.send(b"GET /normal HTTP/1.1\r\nHost: a\r\n\r\n")
                    r = c.read_response()
                    c.close()
                    if r.status != 200:
                        errors.append("normal client got %d" % r.status)
                    served.append(time.monotonic() - t)
                except (OSError, TestFailure) as e:
                    errors.append("normal client: %s" % e)
                time.sleep(0.2)

        th = threading.Thread(target=normal_client)
        th.start()
        next_byte = t0
        try:
            while time.monotonic() - t0 < 4.0 and len(closed_at) < len(socks):
                now = time.monotonic()
                if now >= next_byte:
                    for i, s in enumerate(socks):
                        if i not in closed_at:
                            try:
                                s.send(b"X")
                            except BlockingIOError:
                                pass
                            except OSError:
                                closed_at[i] = now - t0
                    next_byte = now + 0.25
                for i, s in enumerate(socks):
                    if i in closed_at:
                        continue
                    try:
                        b = s.recv(4096)
                    except BlockingIOError:
                        continue
                    except OSError:
                        b = b""
                    if b:
                        replies[i] = replies.get(i, b"") + b
                    else:
                        closed_at[i] = time.monotonic() - t0
                time.sleep(0.02)
        finally:
            th.join(timeout=10)
            for s in socks:
                s.close()
        open_left = len(socks) - len(closed_at)
        check(open_left == 0, "%d of 50 slowloris connections still open after %.1fs"
              % (open_left, time.monotonic() - t0))
        late = [t for t in closed_at.values() if t > 3.0]
        if late:
            fail("%d slowloris connections closed only after 3s (readHeaderTimeout 1s): max %.2fs"
                 % (len(late), max(late)))
        for i, b in replies.items():
            check(b.startswith(b"HTTP/1.1 408 "), "slowloris connection got %s" % show(b, 60))
        check(not errors, "; ".join(errors[:3]))
        check(len(served) >= 5 and max(served) < 1.0,
              "normal client served %d times, slowest %.2fs" % (len(served),
                                                                max(served or [0])))
        expect_backend(env.A, [E("GET", "/normal")] * len(served))


def test_G5_slow_post():
    """Content-Length 1000000 then one byte every 0.3s: readTimeout 2s must end it with 408 and
    close, and a half-forwarded upstream request must be aborted."""
    ep = {"transport": {"respondingTimeouts": {"readTimeout": "2s", "readHeaderTimeout": "1s"}}}
    with Env(entrypoint=ep) as env:
        c = env.client(timeout=6)
        c.send(P + b"Content-Length: 1000000\r\n\r\n")
        t0 = time.monotonic()
        got = b""
        while time.monotonic() - t0 < 6:
            if not c.send(b"x"):
                break
            got = c.recv_available(0.3)
            if got or c.eof:
                break
        dt = time.monotonic() - t0
        c.buf = bytearray(got)
        check(got or c.eof, "slow POST still open after %.1fs (readTimeout 2s)" % dt)
        check(dt < 4.5, "slow POST ended only after %.1fs (readTimeout 2s)" % dt)
        check(got.startswith(b"HTTP/1.1 408 "), "slow POST ended with %s, expected 408+close"
              % (show(got, 60) if got else "a silent close"))
        r = c.read_response(method=b"POST")
        check_local_reply(r, {408})
        check_close(c, r, True)
        c.close()
        oracle(env, [], allow_aborted=True)


def _big_reply(size, piece=256 * 1024):
    def gen():
        yield b"HTTP/1.1 200 OK\r\nContent-Length: %d\r\n\r\n" % size
        blk = b"z" * piece
        left = size
        while left:
            n = min(left, piece)
            yield blk[:n]
            left -= n
    return Reply(gen())


def test_G6_slow_reader_bounded_memory():
    """The client never reads a 512 MiB response: proxyd's memory must stay bounded and, with
    writeTimeout 2s, the connection (and the upstream one) must be closed."""
    size = 512 << 20
    resp = lambda req: _big_reply(size) if req.target == b"/big" else \
        simple_response(canonical_body("A", req))
    ep = {"transport": {"respondingTimeouts": {"writeTimeout": "2s"}}}
    with Env(backends={"A": FakeBackend("A", responder=resp)}, entrypoint=ep) as env:
        base = env.px.rss()
        c = env.client(rcvbuf=4096, timeout=20)
        c.send(b"GET /big HTTP/1.1\r\nHost: a\r\n\r\n")
        t0 = time.monotonic()
        peak = base
        upstream = None
        while time.monotonic() - t0 < 12:
            peak = max(peak, env.px.rss())
            conns = env.A.connections()
            if conns and upstream is None:
                upstream = conns[-1]
            if upstream is not None and upstream.closed:
                break
            time.sleep(0.05)
        dt = time.monotonic() - t0
        growth = peak - base
        limit = (128 << 20) if env.px.sanitized() else (32 << 20)
        check(growth < limit, "proxyd RSS grew by %d MiB while the client did not read "
              "(limit %d MiB)" % (growth >> 20, limit >> 20))
        check(upstream is not None and upstream.closed,
              "upstream connection still open %.1fs after the client stopped reading "
              "(writeTimeout 2s)" % dt)
        # The client connection must be closed too: drain what the kernel buffered.
        total = 0
        deadline = time.monotonic() + 5
        while not c.eof and time.monotonic() < deadline:
            total += len(c.recv_available(0.2))
        check(c.eof, "client connection still open after writeTimeout")
        check(total < size, "the whole body was delivered to a client that did not read")
        c.close()
        oracle(env, [E("GET", "/big")])


def test_G7_fd_limit():
    """proxyd with RLIMIT_NOFILE 256 and 400 extra client sockets: no crash at the fd limit,
    existing keep-alive connections keep working, and new clients are served once the excess
    goes away."""
    with Env(rlimit_nofile=256) as env:
        keep = []
        for i in range(3):
            c = Client(env.addr, timeout=5)
            c.send(b"GET /k%d HTTP/1.1\r\nHost: a\r\n\r\n" % i)
            check(c.read_response().status == 200, "warm-up request failed")
            keep.append(c)
        flood = []
        try:
            for _ in range(400):
                s = socket.socket()
                s.settimeout(1)
                try:
                    s.connect(env.addr)
                except OSError:
                    s.close()
                    continue
                flood.append(s)
            time.sleep(0.3)
            check(env.px.alive(), "proxyd died at the fd limit")
            print("G7: %d client sockets connected, proxyd holds %d fds (limit 256)"
                  % (len(flood), env.px.nfds()))
            for i, c in enumerate(keep):
                c.send(b"GET /again%d HTTP/1.1\r\nHost: a\r\n\r\n" % i)
                r = c.read_response()
                check(r.status == 200, "existing connection got %d at the fd limit" % r.status)
        finally:
            for s in flood:
                s.close()
        for c in keep:
            c.close()
        check(env.px.alive(), "proxyd died at the fd limit")

        def fresh_ok():
            try:
                c = Client(env.addr, timeout=2)
                c.send(b"GET /fresh HTTP/1.1\r\nHost: a\r\n\r\n")
                r = c.read_response()
                c.close()
                return r.status == 200
            except (OSError, TestFailure):
                return False
        wait_until(fresh_ok, 10, 0.1, "a new connection to be served after the flood")


def test_G7_maxconn():
    """transport.maxConnections 20: connections past the limit are refused (closed at once),
    the ones already open keep working, and new clients are served once the excess goes."""
    ep = {"transport": {"maxConnections": 20}}
    env = Env(entrypoint=ep)
    try:
        env.__enter__()
    except TestFailure as e:
        if "maxConnections" in str(e) and "exited" in str(e):
            raise Skip("this proxyd does not know entryPoints.<n>.transport.maxConnections "
                       "(test_G7_fd_limit still covers G7)")
        raise
    with env:
        keep = []
        for i in range(5):
            c = env.client()
            c.send(b"GET /k%d HTTP/1.1\r\nHost: a\r\n\r\n" % i)
            check(c.read_response().status == 200, "warm-up request failed")
            keep.append(c)
        flood = []
        try:
            refused = set()
            for i in range(50):
                s = socket.socket()
                s.settimeout(2)
                try:
                    s.connect(env.addr)
                except (ConnectionResetError, ConnectionRefusedError):
                    refused.add(i)  # reset before connect() even returned
                s.setblocking(False)
                flood.append(s)
            deadline = time.monotonic() + 1.0
            while time.monotonic() < deadline:
                for i, s in enumerate(flood):
                    if i in refused:
                        continue
                    try:
                        if s.recv(1) == b"":
                            refused.add(i)
                    except BlockingIOError:
                        pass
                    except OSError:
                        refused.add(i)
                time.sleep(0.02)
            held = len(flood) - len(refused)
            print("G7: 5 kept + 50 new connections, limit 20: %d refused, %d held"
                  % (len(refused), held))
            check(len(refused) >= 50 - 15 - 2, "only %d of 50 excess connections refused with "
                  "maxConnections 20 and 5 already open" % len(refused))
            check(held <= 15 + 2, "%d new connections held open past maxConnections 20" % held)
            for i, c in enumerate(keep):
                c.send(b"GET /again%d HTTP/1.1\r\nHost: a\r\n\r\n" % i)
                r = c.read_response()
                check(r.status == 200, "existing connection got %d at the limit" % r.status)
        finally:
            for s in flood:
                s.close()
        for c in keep:
            c.close()

        def fresh_ok():
            try:
                with Client(env.addr, timeout=2) as c:
                    c.send(b"GET /fresh HTTP/1.1\r\nHost: a\r\n\r\n")
                    return c.read_response().status == 200
            except (OSError, TestFailure):
                return False
        wait_until(fresh_ok, 5, 0.05, "a new connection to be served after the excess closed")


def test_G8_huge_content_length_413():
    ep = {"http": {"maxRequestBodyBytes": 1048576}}
    sc = SubCases()
    with Env(entrypoint=ep) as env:
        with sc("CL 10 GiB -> 413 before the body"):
            env.A.reset()
            c = env.client()
            c.send(P + b"Content-Length: 10737418240\r\n\r\n")
            r = c.read_response(method=b"POST", timeout=3)
            check_local_reply(r, {413})
            check_close(c, r, True)
            c.close()
            oracle(env, [])
        with sc("CL under the limit accepted"):
            accept(env, P + b"Content-Length: 5\r\n\r\nhello",
                   [E("POST", "/", b"hello", framing="length")], method=b"POST")
        with sc("chunked over the limit -> 413"):
            env.A.reset()
            c = env.client()
            c.send(PC)
            piece = b"%x\r\n%s\r\n" % (65536, b"y" * 65536)
            r = None
            for _ in range(40):  # 2.5 MiB, more than the 1 MiB limit
                if not c.send(piece):
                    break
            c.send(b"0\r\n\r\n")
            try:
                r = c.read_response(method=b"POST", timeout=5)
            except Closed as e:
                fail("chunked body over the limit: closed without a response (%s)" % e)
            check_local_reply(r, {413})
            check_close(c, r, True)
            c.close()
            oracle(env, [], allow_aborted=True)
    sc.done()


def test_G9_pipelined_10000():
    """10,000 requests in one write: 10,000 responses, each its own, in order."""
    n = 10000
    with Env() as env:
        c = env.client(timeout=30)
        blob = b"".join(b"GET /p/%d HTTP/1.1\r\nHost: a\r\n\r\n" % i for i in range(n))
        sender = threading.Thread(target=c.send, args=(blob,))
        base = env.px.rss()
        t0 = time.monotonic()
        sender.start()
        peak = 0
        try:
            for i in range(n):
                r = c.read_response(timeout=30)
                want = b"A GET /p/%d len=0" % i
                if r.status != 200 or r.body != want:
                    fail("response #%d is %s %s, expected %s" % (i, r.status, show(r.body), want))
                if i % 1000 == 0:
                    peak = max(peak, env.px.rss())
        finally:
            sender.join(timeout=30)
        dt = time.monotonic() - t0
        limit = (128 << 20) if env.px.sanitized() else (32 << 20)
        check(peak - base < limit, "proxyd RSS grew by %d MiB during the pipeline (limit %d MiB)"
              % ((peak - base) >> 20, limit >> 20))
        check_close(c, r, False)
        c.close()
        reqs = backend_settled(env.A, n, timeout=10)
        check(len(reqs) == n, "backend received %d requests, expected %d" % (len(reqs), n))
        bad = [i for i, q in enumerate(reqs) if q.target != b"/p/%d" % i]
        check(not bad, "backend received requests out of order (first at #%d)" % (bad[0] if bad
                                                                                  else -1))
        env.A.reset()
        oracle(env, [])
        print("G9: %d pipelined requests in %.2fs, RSS growth %d KiB"
              % (n, dt, (peak - base) >> 10))


test_G9_pipelined_10000.slow = True


def test_G10_keepalive_max_requests():
    ep = {"transport": {"keepAliveMaxRequests": 100}}
    with Env(entrypoint=ep) as env:
        c = env.client()
        for i in range(1, 101):
            c.send(b"GET /k/%d HTTP/1.1\r\nHost: a\r\n\r\n" % i)
            try:
                r = c.read_response()
            except Closed as e:
                fail("connection closed at request %d of 100: %s" % (i, e))
            check(r.status == 200 and r.body == b"A GET /k/%d len=0" % i,
                  "request %d got %s" % (i, r))
            if i < 100:
                check(not r.has_token("connection", b"close"),
                      "Connection: close at request %d, limit is 100" % i)
        check(r.has_token("connection", b"close"), "100th response lacks Connection: close")
        check_close(c, r, True)
        c.close()
        oracle(env, [E("GET", "/k/%d" % i) for i in range(1, 101)])


# ============================== H. Backend misbehaviour ========================================
POISON = b"HTTP/1.1 200 OK\r\nContent-Length: 6\r\n\r\nPOISON"


def _attack_responder(bad, name="A"):
    """Answers /attack* with the scripted raw bytes `bad` (bytes or Reply), the rest normally."""
    def resp(req):
        if req.target.startswith(b"/attack"):
            return bad if isinstance(bad, Reply) else Reply(bad)
        return simple_response(canonical_body(name, req))
    return resp


def backend_case(bad, expect, method=b"GET", body=b"", env_kw=None, close_upstream=True,
                 client_close=None, same_conn_followup=False, max_forwards=1):
    """One backend misbehaviour: the client sends `method /attack`, `expect(r)` judges the
    response (None when the proxy closed without answering). Then the upstream connection must be
    closed, a follow-up (same connection, optional) and a victim must get their own responses."""
    env_kw = dict(env_kw or {})
    with Env(backends={"A": FakeBackend("A", responder=_attack_responder(bad))}, **env_kw) as env:
        c = env.client(timeout=8)
        req = method + b" /attack HTTP/1.1\r\nHost: a\r\n"
        if body or method == b"POST":
            req += b"Content-Length: %d\r\n" % len(body)
        c.send(req + b"\r\n" + body)
        try:
            r = c.read_response(method=method, timeout=8)
        except Closed as e:
            if e.partial:
                raise
            r = None
        expect(r)
        check_close(c, r, client_close)
        st = c.wait_closed(0.1)
        check(st != "data", "unsolicited bytes after the response: %s" % show(c.buf, 80))
        if same_conn_followup and r is not None and st == "open":
            c.send(b"GET /second HTTP/1.1\r\nHost: a\r\n\r\n")
            r2 = c.read_response()
            check(r2.status == 200 and r2.body == b"A GET /second len=0",
                  "follow-up on the same connection got %s (response-queue poisoning)" % r2)
        c.close()
        atk = [q for q in env.A.requests() if q.target.startswith(b"/attack")]
        check(1 <= len(atk) <= max_forwards, "backend got /attack %d times (max %d)"
              % (len(atk), max_forwards))
        if close_upstream:
            for q in atk:
                check(poll_until(lambda: q.conn.closed, 3.0),
                      "proxy kept the upstream connection open after the bad response")
        env.A.reset()
        victim(env)
        victim(env, target="/victim2")


def _is_502(r):
    check(r is not None, "closed without a response, expected 502")
    check_local_reply(r, {502})


def test_H1_response_cl_and_te():
    bad = (b"HTTP/1.1 200 OK\r\nContent-Length: 60\r\nTransfer-Encoding: chunked\r\n\r\n"
           + CHUNKED_HELLO + POISON)

    def expect(r):
        check(r is not None, "no response")
        if r.status != 502:
            check(r.status == 200 and r.body == b"hello",
                  "CL+TE response relayed as %s (expected 502 or de-chunked 'hello')" % r)
        else:
            _is_502(r)
    backend_case(bad, expect, same_conn_followup=True)


def test_H2_response_bad_cl():
    sc = SubCases()
    for name, bad in (("duplicate CL", b"HTTP/1.1 200 OK\r\nContent-Length: 5\r\n"
                                       b"Content-Length: 6\r\n\r\nhello!" + POISON),
                      ("CL 5a", b"HTTP/1.1 200 OK\r\nContent-Length: 5a\r\n\r\nhello" + POISON),
                      ("CL -1", b"HTTP/1.1 200 OK\r\nContent-Length: -1\r\n\r\nhello" + POISON)):
        with sc(name):
            backend_case(bad, _is_502, same_conn_followup=True)
    sc.done()


def test_H3_response_obs_fold():
    backend_case(b"HTTP/1.1 200 OK\r\nX: a\r\n b\r\nContent-Length: 2\r\n\r\nok", _is_502,
                 same_conn_followup=True)


def test_H4_response_space_before_colon():
    def expect(r):
        check(r is not None, "no response")
        if r.status == 502:
            _is_502(r)
        else:
            check(r.status == 200 and r.get("x") == b"v" and r.body == b"ok",
                  "'X : v' relayed as %s headers %r" % (r, r.headers))
    backend_case(b"HTTP/1.1 200 OK\r\nX : v\r\nContent-Length: 2\r\n\r\nok", expect,
                 close_upstream=False, same_conn_followup=True)


def test_H5_bytes_after_bodyless_response():
    """Bytes after a HEAD/204/304 response are not the next response: the upstream connection
    is closed and the next requests get their own answers."""
    sc = SubCases()
    cases = (("HEAD", b"HEAD", b"HTTP/1.1 200 OK\r\nContent-Length: 6\r\n\r\n" + POISON, 200),
             ("204", b"GET", b"HTTP/1.1 204 No Content\r\n\r\n" + POISON, 204),
             ("304", b"GET", b"HTTP/1.1 304 Not Modified\r\nETag: \"x\"\r\n\r\n" + POISON, 304))
    for name, method, bad, status in cases:
        with sc(name):
            def expect(r, status=status):
                check(r is not None and r.status == status and r.body == b"",
                      "%s answered %s" % (name, r))
            backend_case(bad, expect, method=method, same_conn_followup=True)
    sc.done()


def test_H6_backend_closes_no_retry_for_post():
    sc = SubCases()
    cases = (("close before response", Reply(b"", close=True)),
             ("close inside the head", Reply(b"HTTP/1.1 200 OK\r\nContent-Le", close=True)))
    for name, bad in cases:
        with sc("POST " + name):
            backend_case(bad, _is_502, method=b"POST", body=b"hello")
        with sc("GET " + name):
            backend_case(bad, _is_502, method=b"GET", max_forwards=2)
    with sc("POST close mid-body"):
        # The head may have gone out already: then the client sees the truncated response end
        # with a close. It must never look complete.
        def run():
            bad = Reply(b"HTTP/1.1 200 OK\r\nContent-Length: 100\r\n\r\n0123456789", close=True)
            with Env(backends={"A": FakeBackend("A", responder=_attack_responder(bad))}) as env:
                c = env.client()
                c.send(P.replace(b"/", b"/attack", 1) + b"Content-Length: 5\r\n\r\nhello")
                try:
                    r = c.read_response(method=b"POST")
                    check(r.status == 502, "truncated upstream body relayed as complete: %s" % r)
                except Closed:
                    pass  # 200 head + 10 bytes, then the proxy closed: correct
                c.close()
                atk = [q for q in env.A.requests() if q.target == b"/attack"]
                check(len(atk) == 1, "POST forwarded %d times" % len(atk))
                victim(env)
        run()
    sc.done()


def test_H7_silent_backend_504():
    tr = {"forwardingTimeouts": {"responseHeaderTimeout": "1s"}}

    def expect(r):
        check(r is not None, "no response")
        check_local_reply(r, {504})
    t0 = time.monotonic()
    backend_case(Reply(silent=True), expect, env_kw={"transport": tr})
    check(time.monotonic() - t0 < 10, "504 took too long")


def test_H8_interim_responses():
    sc = SubCases()
    with sc("100 then 200 forwarded"):
        def expect(r):
            check(r is not None and r.status == 200 and r.body == b"ok", "final %s" % r)
            check([i.status for i in r.interim] == [100], "interim %s, expected [100]"
                  % [i.status for i in r.interim])
        backend_case(b"HTTP/1.1 100 Continue\r\n\r\nHTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nok",
                     expect, close_upstream=False, same_conn_followup=True)
    with sc("103 Early Hints forwarded"):
        def expect(r):
            check(r is not None and r.status == 200 and r.body == b"ok", "final %s" % r)
            check([i.status for i in r.interim] == [103], "interim %s, expected [103]"
                  % [i.status for i in r.interim])
            check(r.interim[0].get("link") == b"</s.css>; rel=preload", "103 lost its Link")
        backend_case(b"HTTP/1.1 103 Early Hints\r\nLink: </s.css>; rel=preload\r\n\r\n"
                     b"HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nok",
                     expect, close_upstream=False, same_conn_followup=True)
    with sc("unsolicited 101 -> 502"):
        backend_case(b"HTTP/1.1 101 Switching Protocols\r\nConnection: Upgrade\r\n"
                     b"Upgrade: foo\r\n\r\n" + POISON, _is_502)
    sc.done()


def test_H9_ctl_in_response_field():
    sc = SubCases()
    for name, v in (("bare CR", b"a\rb"), ("NUL", b"a\x00b"), ("bare LF", b"a\nb")):
        with sc(name):
            backend_case(b"HTTP/1.1 200 OK\r\nX: " + v + b"\r\nContent-Length: 2\r\n\r\nok",
                         _is_502, same_conn_followup=True)
    sc.done()


def test_H10_chunked_response_to_http10_client():
    bad = Reply(b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n" + CHUNKED_HELLO)
    with Env(backends={"A": FakeBackend("A", responder=_attack_responder(bad))}) as env:
        c = env.client()
        c.send(b"GET /attack HTTP/1.0\r\nHost: a\r\n\r\n")
        r = c.read_response()
        check(r.status == 200 and r.body == b"hello" and r.framing in ("close", "length"),
              "HTTP/1.0 client got %s framed by %s" % (r, r.framing))
        if r.framing == "length":
            check_close(c, r, None)
        c.close()
        oracle(env, [E("GET", "/attack")])
