"""api.py: raftd's client API as the tests see it: fault codes, leader hints, an XML-RPC proxy with timeouts.

The fault codes are docs/API.md "Faults" (daemon/rpcfault.h and
client/rpc.h define them for C); the hint is the fault string of
NOT_LEADER, "not leader; leader=ID@HOST:PORT" or "not leader;
leader=unknown" (daemon/node.c).
"""
import errno
import http.client
import re
import ssl
import xml.parsers.expat
import xmlrpc.client

NOT_LEADER = 1
TIMEOUT = 2
INVALID = 3
NOT_FOUND = 4
UNAUTHORIZED = 5
UNAVAILABLE = 6

FAULT_NAMES = {NOT_LEADER: "NOT_LEADER", TIMEOUT: "TIMEOUT",
               INVALID: "INVALID", NOT_FOUND: "NOT_FOUND",
               UNAUTHORIZED: "UNAUTHORIZED", UNAVAILABLE: "UNAVAILABLE"}

# Faults after which the same call (same tid) may be sent again: the node
# timed out waiting for the commit, or is going away.
RETRY_CODES = (TIMEOUT, UNAVAILABLE)

RPC_TIMEOUT = 10.0

# "Could not talk to that node": down, reset, timed out, or an answer cut
# short (http.client returns a body cut by a dying node as a short read,
# so the XML parser fails on it).
CONN_ERRORS = (OSError, http.client.HTTPException,
               xmlrpc.client.ProtocolError, xmlrpc.client.ResponseError,
               xml.parsers.expat.ExpatError)

_HINT = re.compile(r"^not leader; leader=(?:(\d+)@(\S+)|unknown)$")


def leader_hint(fault_string):
    """The leader a NOT_LEADER fault names: (id, "host:port"), or None for
    "leader=unknown" or a string that is not a hint."""
    m = _HINT.match(fault_string)
    if m is None or m.group(1) is None:
        return None
    return int(m.group(1)), m.group(2)


def hint_text(leader_id=None, address=None):
    """The fault string of NOT_LEADER naming a leader (or none known)."""
    if leader_id is None:
        return "not leader; leader=unknown"
    return "not leader; leader=%d@%s" % (leader_id, address)


class MaybeDelivered(OSError):
    """A request sent on a kept-alive connection that was then reset or
    closed, and whose resend was refused: the node may have received (and
    applied) the first copy, so this is no answer, not a refusal."""


class _Resending:
    """The request loop of the transports below: a resend that tells
    "refused" from "maybe delivered"."""

    def request(self, host, handler, request_body, verbose=False):
        # xmlrpc.client resends once, silently, when a cached connection
        # is reset or closed.  The first copy may have reached a node that
        # then died: if the resend is refused, a plain
        # ConnectionRefusedError would make a client record a write that
        # was applied as one that cannot have been (soak round "mix" seed
        # 2140697075 found this).
        for i in (0, 1):
            try:
                return self.single_request(host, handler, request_body,
                                           verbose)
            except http.client.RemoteDisconnected:
                if i:
                    raise
            except ConnectionRefusedError as e:
                if i:
                    raise MaybeDelivered(e.errno, "connection refused on "
                                         "resend after a reset") from e
                raise
            except OSError as e:
                if i or e.errno not in (errno.ECONNRESET, errno.ECONNABORTED,
                                        errno.EPIPE):
                    raise


class Transport(_Resending, xmlrpc.client.Transport):
    """xmlrpc.client's transport with a socket timeout."""

    def __init__(self, timeout):
        super().__init__()
        self._timeout = timeout

    def make_connection(self, host):
        conn = super().make_connection(host)
        conn.timeout = self._timeout
        return conn


class TlsTransport(_Resending, xmlrpc.client.SafeTransport):
    """The same over HTTPS, checking the node's certificate against a CA
    file."""

    def __init__(self, timeout, cafile):
        super().__init__(context=ssl.create_default_context(cafile=cafile))
        self._timeout = timeout

    def make_connection(self, host):
        conn = super().make_connection(host)
        conn.timeout = self._timeout
        return conn


def proxy(address, timeout=RPC_TIMEOUT, cafile=None):
    """An XML-RPC proxy to a node at "host:port" (over HTTPS, checked
    against the CA file `cafile`, when one is given)."""
    if cafile:
        return xmlrpc.client.ServerProxy(
            "https://%s/RPC2" % address,
            transport=TlsTransport(timeout, cafile), allow_none=False)
    return xmlrpc.client.ServerProxy("http://%s/RPC2" % address,
                                     transport=Transport(timeout),
                                     allow_none=False)


def call_sized(host, port, method, *args, timeout=RPC_TIMEOUT):
    """Calls method(*args) over a raw HTTP POST: returns (result, number
    of bytes in the response body), so that a test can check response
    sizes.  A fault is raised as xmlrpc.client.Fault (with .body_bytes
    set), an HTTP error as ProtocolError."""
    body = xmlrpc.client.dumps(tuple(args), method).encode("utf-8")
    conn = http.client.HTTPConnection(host, port, timeout=timeout)
    try:
        conn.request("POST", "/RPC2", body, {"Content-Type": "text/xml"})
        resp = conn.getresponse()
        data = resp.read()
    finally:
        conn.close()
    if resp.status != 200:
        raise xmlrpc.client.ProtocolError("%s:%d" % (host, port), resp.status,
                                          resp.reason, {})
    try:
        (result,), _ = xmlrpc.client.loads(data)
    except xmlrpc.client.Fault as f:
        f.body_bytes = len(data)
        raise
    return result, len(data)
