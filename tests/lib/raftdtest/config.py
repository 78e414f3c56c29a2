"""config.py: the one writer of raftd cluster configs for the tests and benchmarks.

    text = config_text({1: "127.0.0.1:8001", 2: "127.0.0.1:8002"},
                       "/tmp/x/node-%i", election=(150, 300), heartbeat=50)
    secret = write_config(path, nodes, data_dir, max_inflight=4)

A multi-node raftd refuses to start without cluster.secret unless the
config says `insecure = true;` (docs/API.md), so a random secret is the
default.  Keys left at None are not written (raftd's defaults apply).

From a shell (bench/quick.sh): picks free loopback ports, writes the
config and prints the nodes' addresses, one a line:

    PYTHONPATH=tests/lib python3 -m raftdtest write-config --nodes 5 --dir DIR
"""
import argparse
import os
import secrets

from raftdtest.ports import free_ports

RANDOM = object()   # secret=RANDOM: draw a fresh one


def new_secret():
    """A random cluster secret (32 hex digits)."""
    return secrets.token_hex(16)


def resolve_secret(secret=RANDOM, insecure=False):
    """The secret a config gets: a fresh random one for RANDOM (none when
    insecure), else `secret` itself (None: no secret)."""
    if secret is RANDOM:
        return None if insecure else new_secret()
    return secret


def _value(v):
    """A libconfig value: a bool, an int or a quoted string."""
    if isinstance(v, bool):
        return "true" if v else "false"
    if isinstance(v, int):
        return "%d" % v
    return '"%s"' % str(v).replace("\\", "\\\\").replace('"', '\\"')


def config_text(nodes, data_dir, secret=RANDOM, insecure=False,
                election=None, heartbeat=None, request_timeout=None,
                max_inflight=None, extra=None, comment=None, peers=None):
    """A raftd config.  nodes: {id: "host:port"} or (id, address) pairs;
    peers: {id: "host:port"} of the peer listeners (raftd's default for a
    node left out: its port + 1000);
    data_dir: the nodes' data directory, with %i for the node id;
    election: (min, max) ms; heartbeat, request_timeout: ms; extra: more
    top-level keys {name: value} written after the others."""
    items = sorted(nodes.items()) if isinstance(nodes, dict) else \
        list(nodes)
    secret = resolve_secret(secret, insecure)
    out = ["# %s\n" % (comment or "written by tests/lib/raftdtest/config.py"),
           "cluster = {\n  nodes = (\n",
           ",\n".join("    { id = %d; address = %s;%s }" %
                      (nid, _value(addr),
                       " peer_address = %s;" % _value(peers[nid])
                       if peers and nid in peers else "")
                      for nid, addr in items),
           "\n  );\n"]
    if secret is not None:
        out.append("  secret = %s;\n" % _value(secret))
    out.append("};\ndata_dir = %s;\n" % _value(data_dir))
    if election is not None:
        out.append("election_timeout_ms = { min = %d; max = %d; };\n" %
                   tuple(election))
    for key, v in (("heartbeat_ms", heartbeat),
                   ("request_timeout_ms", request_timeout),
                   ("max_inflight", max_inflight)):
        if v is not None:
            out.append("%s = %s;\n" % (key, _value(v)))
    if insecure:
        out.append("insecure = true;\n")
    for key, v in (extra or {}).items():
        out.append("%s = %s;\n" % (key, _value(v)))
    return "".join(out)


def write_config(path, nodes, data_dir, secret=RANDOM, **kw):
    """Writes config_text(...) to path; returns the secret it holds (None
    if none)."""
    secret = resolve_secret(secret, kw.get("insecure", False))
    with open(path, "w") as f:
        f.write(config_text(nodes, data_dir, secret=secret, **kw))
    return secret


def main(argv=None):
    ap = argparse.ArgumentParser(
        prog="python3 -m raftdtest write-config",
        description="write a raftd config for N nodes on free loopback "
        "ports; print their addresses, one a line")
    ap.add_argument("--nodes", type=int, default=5)
    ap.add_argument("--dir", required=True,
                    help="the cluster's directory: data dirs DIR/node-ID")
    ap.add_argument("--out", help="the config file (default "
                    "DIR/cluster.conf)")
    ap.add_argument("--election", help="MIN,MAX election timeout in ms")
    ap.add_argument("--heartbeat", type=int)
    ap.add_argument("--request-timeout", type=int)
    ap.add_argument("--max-inflight", type=int)
    a = ap.parse_args(argv)
    if a.nodes < 1:
        ap.error("--nodes must be >= 1")
    d = os.path.abspath(a.dir)
    free = free_ports(2 * a.nodes)
    addrs = ["127.0.0.1:%d" % p for p in free[:a.nodes]]
    peers = {i + 1: "127.0.0.1:%d" % p for i, p in enumerate(free[a.nodes:])}
    election = tuple(int(x) for x in a.election.split(",")) \
        if a.election else None
    write_config(a.out or os.path.join(d, "cluster.conf"),
                 dict(zip(range(1, a.nodes + 1), addrs)),
                 os.path.join(d, "node-%i"), election=election,
                 heartbeat=a.heartbeat, request_timeout=a.request_timeout,
                 max_inflight=a.max_inflight, peers=peers)
    print("\n".join(addrs))
    return 0
