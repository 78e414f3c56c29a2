# test_console_http.py: the web console's HTTP side without a browser: the page and its types, 404s, CORS for the members' origins only, read-only and off modes.
import http.client
import json
import os
import sys
import xmlrpc.client

sys.dont_write_bytecode = True  # no __pycache__ in the source tree
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)) + "/../lib")
import raftdtest as rt  # noqa: E402
from raftdtest import Cluster  # noqa: E402


def request(address, method, path, body=None, headers=None, timeout=5):
    """(status, {lowercase header: value}, body bytes) of one request."""
    host, port = address.rsplit(":", 1)
    conn = http.client.HTTPConnection(host, int(port), timeout=timeout)
    try:
        conn.request(method, path, body=body, headers=headers or {})
        r = conn.getresponse()
        return r.status, {k.lower(): v for k, v in r.getheaders()}, r.read()
    finally:
        conn.close()


def call_body(method, *params):
    return xmlrpc.client.dumps(params, method).encode()


def rpc(address, origin, method, *params):
    """POST /RPC2 with an Origin header (None: none): (status, headers,
    result or xmlrpc.client.Fault or the body text)."""
    h = {"Content-Type": "text/xml"}
    if origin is not None:
        h["Origin"] = origin
    status, hdrs, body = request(address, "POST", "/RPC2",
                                 call_body(method, *params), h)
    if status != 200:
        return status, hdrs, body.decode("utf-8", "replace")
    try:
        return status, hdrs, xmlrpc.client.loads(body)[0][0]
    except xmlrpc.client.Fault as f:
        return status, hdrs, f


def preflight(address, origin, want="POST", headers="content-type"):
    h = {"Origin": origin, "Access-Control-Request-Method": want}
    if headers is not None:
        h["Access-Control-Request-Headers"] = headers
    return request(address, "OPTIONS", "/RPC2", None, h)


def check_page(ck, c):
    a = c.address(1)
    status, h, body = request(a, "GET", "/")
    ck.eq(status, 200, "GET / answers")
    ck.eq(h.get("content-type"), "text/html; charset=utf-8",
          "GET / is HTML")
    ck.check(b"<title>raftd console</title>" in body and
             b'src="/console.js"' in body, "GET / is the console's page")
    csp = h.get("content-security-policy", "")
    ck.check("frame-ancestors 'none'" in csp and "default-src 'self'" in csp,
             "the page forbids frames and foreign scripts (%r)" % csp)
    for nid in c.ids():
        ck.check("http://%s" % c.address(nid) in csp,
                 "the page may connect to node %d (%r)" % (nid, csp))
    ck.eq(h.get("x-frame-options"), "DENY", "X-Frame-Options")
    ck.eq(h.get("x-content-type-options"), "nosniff", "nosniff")
    status, h, body = request(a, "GET", "/console.js")
    ck.eq((status, h.get("content-type")),
          (200, "text/javascript; charset=utf-8"), "GET /console.js")
    ck.check(b"function encodeCall" in body, "console.js is the script")
    status, h, body = request(a, "GET", "/console.css")
    ck.eq((status, h.get("content-type")), (200, "text/css; charset=utf-8"),
          "GET /console.css")
    status, h, body = request(a, "GET", "/console.json")
    ck.eq((status, h.get("content-type")), (200, "application/json"),
          "GET /console.json")
    info = json.loads(body)
    ck.eq(info, {"id": 1, "address": a, "mode": "on", "tls": False},
          "console.json names the node and the mode")
    for path in ("/index.html", "/console.js/x", "/favicon.ico", "/RPC",
                 "/console", "/../etc/passwd", "/%2e%2e/"):
        status, h, body = request(a, "GET", path)
        ck.eq(status, 404, "GET %s is 404" % path)
    status, h, body = request(a, "POST", "/")
    ck.eq(status, 404, "POST / is 404")
    status, h, body = request(c.address(1), "GET", "/health")
    ck.check(status in (200, 503) and b"health" in body,
             "GET /health still answers")
    # The peer listener serves no page.
    status, h, body = request("127.0.0.1:%d" % c.peer_port(1), "GET", "/")
    ck.eq(status, 404, "the peer listener has no console")


def check_cors(ck, c):
    a = c.address(1)
    member = "http://%s" % c.address(2)
    own = "http://%s" % a
    evil = "http://evil.example:%s" % a.rsplit(":", 1)[1]

    status, h, body = preflight(a, member)
    ck.eq(status, 204, "a preflight from a member's origin is answered")
    ck.eq(h.get("access-control-allow-origin"), member,
          "the preflight allows that origin, by name")
    ck.eq(h.get("access-control-allow-methods"), "POST", "POST only")
    ck.check("content-type" in h.get("access-control-allow-headers",
                                     "").lower(), "Content-Type allowed")
    ck.eq(h.get("vary"), "Origin", "the answer varies by Origin")
    for bad, why in ((evil, "another site"), ("null", "a null origin"),
                     ("https://%s" % c.address(2), "the wrong scheme"),
                     ("http://%s/x" % c.address(2), "an origin with a path"),
                     ("http://127.0.0.1:1", "another port")):
        status, h, body = preflight(a, bad)
        ck.eq(status, 403, "a preflight from %s is refused" % why)
        ck.check("access-control-allow-origin" not in h,
                 "and allows no origin (%s)" % why)
    status, h, body = preflight(a, member, want="PUT")
    ck.eq(status, 403, "a preflight for PUT is refused")
    status, h, body = preflight(a, member, headers="content-type, x-evil")
    ck.eq(status, 403, "a preflight for other headers is refused")

    lid, _ = c.stable_leader()
    la = c.address(lid)
    status, h, st = rpc(a, member, "status")
    ck.check(status == 200 and isinstance(st, dict) and st["id"] == 1,
             "status() from a member's page answers (%r)" % (st,))
    ck.eq(h.get("access-control-allow-origin"), member,
          "with the page's origin allowed")
    status, h, st = rpc(a, own, "status")
    ck.eq(h.get("access-control-allow-origin"), own, "own origin allowed")
    status, h, r = rpc(la, member, "put", "cors-k", "from-a-member")
    ck.eq((status, r), (200, True), "a put from a member's page commits")
    ck.eq(h.get("access-control-allow-origin"), member,
          "and its answer is readable by the page")
    ck.eq(c.client(lid).get("cors-k"), "from-a-member", "the put is there")

    # The CSRF case: another site's page posts (no preflight needed for a
    # text/plain body).  Refused before the body is read.
    for bad in (evil, "null", "http://%s.evil.example" % a):
        status, h, body = rpc(la, bad, "put", "csrf-k", "x")
        ck.eq(status, 403, "a put from origin %s is refused" % bad)
        ck.check("access-control-allow-origin" not in h,
                 "and not made readable (%s)" % bad)
    h = {"Content-Type": "text/plain", "Origin": evil}
    status, _, _ = request(la, "POST", "/RPC2", call_body("put", "csrf-k",
                                                          "y"), h)
    ck.eq(status, 403, "a text/plain put from another site is refused")
    try:
        c.client(lid).get("csrf-k")
        ck.check(False, "csrf-k must not exist")
    except xmlrpc.client.Fault as f:
        ck.eq(f.faultCode, rt.NOT_FOUND, "no refused put was applied")
    # Clients that are not browsers send no Origin: unchanged.
    status, h, r = rpc(la, None, "put", "plain-k", "v")
    ck.eq((status, r), (200, True), "a put without Origin commits")
    ck.check("access-control-allow-origin" not in h,
             "and carries no CORS header")
    # The peer listener takes no browser at all.
    status, h, body = rpc("127.0.0.1:%d" % c.peer_port(1), member, "status")
    ck.eq(status, 403, "the peer listener refuses a browser's request")
    # The edge's limits are the same for a page's requests.
    hdr = {"Origin": member, "Content-Type": "text/xml",
           "Content-Length": str(5 * 1024 * 1024)}
    host, port = a.rsplit(":", 1)
    conn = http.client.HTTPConnection(host, int(port), timeout=5)
    try:
        conn.putrequest("POST", "/RPC2")
        for k, v in hdr.items():
            conn.putheader(k, v)
        conn.endheaders()
        status = conn.getresponse().status
    finally:
        conn.close()
    ck.eq(status, 413, "a page's body over 4 MiB is refused as before")


def check_readonly(ck):
    c = Cluster(1, name="console-ro", extra={"console": "readonly"})
    a = c.address(1)
    own = "http://%s" % a
    c.leader(among=[1])
    status, h, body = request(a, "GET", "/console.json")
    ck.eq(json.loads(body)["mode"], "readonly", "console.json says readonly")
    ck.eq(c.call_with_retry("put", "ro-k", "by-raftctl"), True,
          "a client without Origin still writes")
    status, h, body = preflight(a, own)
    ck.eq((status, h.get("access-control-allow-origin")), (204, own),
          "the read-only console's preflight is answered (reads need it)")
    status, h, st = rpc(a, own, "status")
    ck.check(status == 200 and st["state"] == "leader",
             "the read-only page reads status()")
    status, h, v = rpc(a, own, "get", "ro-k")
    ck.eq(v, "by-raftctl", "the read-only page reads keys")
    status, h, v = rpc(a, own, "list", "ro-", "", 10)
    ck.eq(v, [{"key": "ro-k", "value": "by-raftctl"}], "and lists them")
    for method, params in (("put", ("ro-k", "by-page")),
                           ("delete", ("ro-k",)),
                           ("cas", ("ro-k", "by-raftctl", "x")),
                           ("addEntry", ("t1", "x")),
                           ("multiPut", ({"ro-k": "x"},)),
                           ("snapshot", ()),
                           ("transferLeader", ()),
                           ("removeMember", (1,))):
        status, h, r = rpc(a, own, method, *params)
        ck.check(isinstance(r, xmlrpc.client.Fault) and
                 r.faultCode == rt.UNAUTHORIZED and
                 "read-only" in r.faultString,
                 "the read-only page's %s is refused with fault 5 (%r)" %
                 (method, r))
        ck.eq(h.get("access-control-allow-origin"), own,
              "and the page can read why (%s)" % method)
    # xmlrpc-c's built-in system.multicall is refused before any of its
    # calls runs (in the read-only registry too).
    status, h, r = rpc(a, own, "system.multicall",
                       [{"methodName": "put", "params": ["ro-k", "mc"]}])
    ck.check(isinstance(r, xmlrpc.client.Fault) and r.faultCode == -506,
             "a page's system.multicall is refused (%r)" % (r,))
    ck.eq(c.client(1).get("ro-k"), "by-raftctl", "nothing was written")
    c.finish(ck)


def check_off(ck):
    c = Cluster(1, name="console-off", extra={"console": "off"})
    a = c.address(1)
    c.leader(among=[1])
    for path in ("/", "/console.js", "/console.json"):
        status, h, body = request(a, "GET", path)
        ck.eq(status, 404, "console = off: GET %s is 404" % path)
    status, h, body = preflight(a, "http://%s" % a)
    ck.eq(status, 403, "console = off: no preflight is answered")
    status, h, body = rpc(a, "http://%s" % a, "status")
    ck.eq(status, 403, "console = off: a page's call is refused")
    status, h, st = rpc(a, None, "status")
    ck.eq(st["id"], 1, "console = off: clients are unaffected")
    c.finish(ck)


def check_bad_config(ck):
    c = Cluster(1, name="console-bad", extra={"console": "maybe"},
                start=False)
    rc, out = c.run_raw(["-c", c.conf, "-i", "1"], timeout=15)
    ck.eq(rc, 2, "console = \"maybe\" is a config error")
    ck.check("console" in out and "readonly" in out,
             "the message names the key and the values (%r)" % out)
    c.finish(ck)


def check_rebinding(ck, c):
    """A browser's GET must name the node by a member's host, an IP
    address or localhost (DNS rebinding: a page of another site whose
    name was made to resolve to the node reads nothing); other clients
    (no Sec-Fetch-Site, no Origin) are not asked."""
    a = c.address(1)
    port = a.rsplit(":", 1)[1]
    browser = {"Sec-Fetch-Site": "same-origin", "Sec-Fetch-Mode": "cors"}
    for path in ("/", "/console.json", "/metrics", "/health"):
        status, _, body = request(a, "GET", path, headers=dict(
            browser, Host="evil.example:%s" % port))
        ck.eq(status, 403, "a browser's GET %s with Host evil.example: "
              "403" % path)
        ck.check(b"raftd_" not in body and b"commitIndex" not in body,
                 "nothing of the node in the refusal of %s" % path)
        status, _, _ = request(a, "GET", path, headers={
            "Host": "evil.example:%s" % port})
        ck.check(status in (200, 503), "GET %s with Host evil.example but "
                 "no browser headers (curl, Prometheus): answered (%d)" %
                 (path, status))
    for host in (a, "localhost:%s" % port, "LOCALHOST.:%s" % port,
                 "[::1]:%s" % port, "127.0.0.1"):
        status, _, _ = request(a, "GET", "/console.json", headers=dict(
            browser, Host=host))
        ck.eq(status, 200, "a browser's GET with Host %s: 200" % host)
    for host in ("evil.example", "127.0.0.1.evil.example:%s" % port,
                 "[::1", "[]:1", ":%s" % port):
        status, _, _ = request(a, "GET", "/console.json", headers={
            "Origin": "http://x", "Host": host})
        ck.eq(status, 403, "a GET with an Origin and Host %r: 403" % host)


def main(ck):
    c = Cluster(3, name="console-http")
    c.stable_leader()
    check_page(ck, c)
    check_cors(ck, c)
    check_rebinding(ck, c)
    c.finish(ck)
    check_readonly(ck)
    check_off(ck)
    check_bad_config(ck)


rt.run(main)
