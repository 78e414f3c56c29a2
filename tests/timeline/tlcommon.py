"""tlcommon.py: what the `raftctl timeline` tests share: raftlog and node log writers, a data collector laid out like `raftd-testbed get_raftlog`'s download, and a reader of the SVG's marked-up elements."""
import os
import shutil
import struct
import subprocess
import xml.etree.ElementTree as ET

from raftdtest import build_path
from raftdtest.raftlog import crc32c, entry_record

SVG = "{http://www.w3.org/2000/svg}"
RUN_TIMEOUT = 60


def raftlog_bytes(entries, commits=(), first_index=1):
    """A valid raftlog: entries [(index, term, payload)], then COMMIT
    markers for each index in commits."""
    head = b"RAFTDLOG" + struct.pack("<IIQI", 1, 32, first_index, 0)
    out = head + struct.pack("<I", crc32c(head))
    for index, term, payload in entries:
        out += entry_record(index, term, 1, payload)
    for c in commits:
        rest = struct.pack("<IB7xQ", 8, 2, c)
        out += struct.pack("<I", crc32c(rest)) + rest
    return out


def stamp(t):
    """raftd's log time stamp of t (seconds since the epoch, UTC)."""
    ms = int(round(t * 1000))
    import time
    return time.strftime("%Y-%m-%dT%H:%M:%S", time.gmtime(ms // 1000)) + \
        ".%03dZ" % (ms % 1000)


def log_line(t, nid, term, role, msg, level="info"):
    return "%s node=%d term=%d %s %s: %s\n" % (stamp(t), nid, term, role,
                                               level, msg)


def collect(cluster, out, name_of=lambda nid: "n%d" % nid):
    """Copies each node's raftlog, snapshot and log file into
    out/NAME/{raftlog,snapshot,raftd.log}, as get_raftlog lays them out."""
    shutil.rmtree(out, ignore_errors=True)
    for nid in cluster.ids():
        d = os.path.join(out, name_of(nid))
        os.makedirs(d)
        shutil.copy(cluster.raftlog(nid), os.path.join(d, "raftlog"))
        snap = os.path.join(cluster.data_dir(nid), "snapshot")
        if os.path.exists(snap):
            shutil.copy(snap, os.path.join(d, "snapshot"))
        shutil.copy(cluster.log_path(nid), os.path.join(d, "raftd.log"))


def timeline(args, timeout=RUN_TIMEOUT):
    """Runs the built raftctl timeline ARGS; returns (rc, stdout, stderr)."""
    p = subprocess.run([build_path("raftctl"), "timeline"] + list(args),
                       capture_output=True, timeout=timeout)
    return p.returncode, p.stdout, p.stderr.decode("utf-8", "replace")


class Picture:
    """The parsed SVG (ElementTree raises on a document that is not
    well-formed XML) and its marked-up parts."""

    def __init__(self, data):
        self.root = ET.fromstring(data)
        self.all = list(self.root.iter())

    def cls(self, el):
        return (el.get("class") or "").split()

    def find(self, *classes):
        """Elements whose class list holds all of `classes`."""
        return [e for e in self.all
                if all(c in self.cls(e) for c in classes)]

    def spans(self, role):
        return [(e.get("data-node"), int(e.get("data-term")))
                for e in self.find("span", role)]

    def leaders(self):
        """{node: set of terms it led} from the time lanes."""
        out = {}
        for node, term in self.spans("leader"):
            out.setdefault(node, set()).add(term)
        return out

    def run_terms(self, node=None):
        return sorted({int(e.get("data-term")) for e in self.find("run")
                       if node is None or e.get("data-node") == node})

    def legend(self):
        """{term: leaders string} of the legend."""
        return {int(e.get("data-term")): e.get("data-leaders")
                for e in self.find("term")}

    def texts(self):
        return ["".join(e.itertext()) for e in self.root.iter(SVG + "text")]

    def has_time_panel(self):
        return any(t.startswith("Over time") for t in self.texts())
