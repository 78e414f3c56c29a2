"""peerwire.py: raftd's peer frames (daemon/wire.h) and their HMAC trailer
(daemon/peerauth.h) in Python, so that tests can speak to a node as a peer
would -- or as an attacker would: forged, malformed, replayed.

    frame = pack_append(frm=2, to=1, term=5, prev_index=0, prev_term=0,
                        commit=0, seq=1, entries=[(5, 1, b"...")])
    frame = sign_request(frame, secret, epoch, seq)     # optional
    reply = call(port, "appendEntries", frame)          # -> dict or Fault
"""
import hashlib
import hmac
import http.client
import struct
import time
import xmlrpc.client

import os

VERSION = 2
VOTE, VOTE_RESP, APPEND, APPEND_RESP, SNAPSHOT, SNAPSHOT_RESP, TIMEOUT_NOW = \
    1, 2, 3, 4, 5, 6, 7
HEADER = 36

# The identity every frame carries (daemon/ident.h): the cluster's id and
# the sender's incarnation.  A Cluster sets `cluster` and `data_dirs` (so
# that a frame speaking for node N carries N's own incarnation, read from
# its data dir's identity file, as a forger holding a member's disk
# would); `incarnation` overrides it.
ident = {"cluster": 0, "data_dirs": None, "incarnation": None}


def cluster_id(addresses):
    """The cluster id of a bootstrap configuration {id: "host:port"}."""
    h = hashlib.sha256(b"raftd-cluster-v1")
    for nid in sorted(addresses):
        h.update(("%d=%s;" % (nid, addresses[nid])).encode())
    v = int.from_bytes(h.digest()[:8], "big")
    return v or 1


def incarnation_of(nid):
    if ident["incarnation"] is not None:
        return ident["incarnation"]
    if ident["data_dirs"]:
        try:
            with open(os.path.join(ident["data_dirs"], "node-%d" % nid,
                                   "identity")) as f:
                for line in f:
                    if line.startswith("incarnation "):
                        return int(line.split()[1], 16)
        except OSError:
            pass
    return 0x5EED
FLAG_AUTH = 0x01
FLAG_CHUNK = 0x02
ENTRY_NOOP, ENTRY_COMMAND = 0, 1
LABEL_REQUEST = b"raftd-peer-request-v1\0"
LABEL_RESPONSE = b"raftd-peer-response-v1\0"
TRAILER = 56


def _header(mtype, frm, to, term, auth):
    return struct.pack("<BBBBIIQQQ", VERSION, mtype,
                       FLAG_AUTH if auth else 0, 0, frm, to, term,
                       ident["cluster"], incarnation_of(frm))


def pack_vote(frm, to, term, last_index, last_term, prevote=False,
              auth=False):
    return _header(VOTE, frm, to, term, auth) + struct.pack(
        "<BQQ", 1 if prevote else 0, last_index, last_term)


def pack_append(frm, to, term, prev_index=0, prev_term=0, commit=0, seq=1,
                entries=(), auth=False):
    """entries: (term, type, bytes) tuples."""
    body = struct.pack("<QQQQI", prev_index, prev_term, commit, seq,
                       len(entries))
    for (t, typ, data) in entries:
        body += struct.pack("<QBI", t, typ, len(data)) + data
    return _header(APPEND, frm, to, term, auth) + body


def pack_chunk(frm, to, term, index, sterm, total, offset, data,
               auth=False):
    """A snapshot chunk (installSnapshot): `data` is the bytes of the
    snapshot file at `offset`, of a file of `total` bytes."""
    hdr = bytearray(_header(SNAPSHOT, frm, to, term, auth))
    hdr[2] |= FLAG_CHUNK
    return bytes(hdr) + struct.pack("<QQQQI", index, sterm, total, offset,
                                    len(data)) + data


class Signer:
    """Signs frames as one sender incarnation would: a random epoch, seq
    counting up.  secret None: unsigned frames (an insecure cluster)."""

    def __init__(self, secret, epoch=None):
        import random
        self.secret = secret
        self.epoch = epoch if epoch is not None else random.getrandbits(63)
        self.seq = 0

    def sign(self, frame):
        if self.secret is None:
            return frame
        self.seq += 1
        return sign_request(frame, self.secret, self.epoch, self.seq)

    def chunk(self, frm, to, **kw):
        return self.sign(pack_chunk(frm, to, **kw))


def sign_request(frame, secret, epoch, seq, now_ms=None):
    """Sets the frame's auth flag and appends the trailer."""
    if now_ms is None:
        now_ms = int(time.time() * 1000)
    frame = bytearray(frame)
    frame[2] |= FLAG_AUTH
    frame += struct.pack("<QQQ", epoch, seq, now_ms)
    mac = hmac.new(secret.encode(), LABEL_REQUEST + bytes(frame),
                   hashlib.sha256).digest()
    return bytes(frame) + mac


def unpack(frame):
    """A dict of the frame's fields (answers have no entries)."""
    version, mtype, flags, _, frm, to, term = struct.unpack_from(
        "<BBBBIIQ", frame, 0)
    d = {"version": version, "type": mtype, "auth": bool(flags & FLAG_AUTH),
         "from": frm, "to": to, "term": term}
    off = HEADER
    if mtype == VOTE_RESP:
        d["prevote"], d["granted"] = struct.unpack_from("<BB", frame, off)
    elif mtype == SNAPSHOT_RESP:
        d["success"], d["index"] = struct.unpack_from("<BQ", frame, off)
    elif mtype == APPEND_RESP:
        (d["success"], d["prevIndex"], d["matchIndex"], d["conflictTerm"],
         d["conflictIndex"], d["lastLogIndex"], d["seq"]) = \
            struct.unpack_from("<BQQQQQQ", frame, off)
    return d


def check_response(frame, secret, epoch, seq):
    """True when the answer's MAC is right and bound to (epoch, seq)."""
    if len(frame) < TRAILER:
        return False
    e, s, _ = struct.unpack_from("<QQQ", frame, len(frame) - TRAILER)
    mac = hmac.new(secret.encode(), LABEL_RESPONSE + bytes(frame[:-32]),
                   hashlib.sha256).digest()
    return e == epoch and s == seq and hmac.compare_digest(mac, frame[-32:])


def call(port, method, frame, host="127.0.0.1", timeout=10):
    """POSTs one peer call; returns the answer frame (bytes), or the value
    when the answer is not a frame (a snapshot chunk's next offset), or
    raises xmlrpc.client.Fault."""
    body = xmlrpc.client.dumps((xmlrpc.client.Binary(frame),), method)
    conn = http.client.HTTPConnection(host, port, timeout=timeout)
    try:
        conn.request("POST", "/RPC2", body=body.encode(),
                     headers={"Content-Type": "text/xml"})
        data = conn.getresponse().read()
    finally:
        conn.close()
    (result,), _ = xmlrpc.client.loads(data)
    if isinstance(result, xmlrpc.client.Binary):
        return bytes(result.data)
    return result
