# test_bad_config.py: bad configs and arguments exit 2 with a message naming the file and key, touching no data dir.
import os
import signal
import socket
import sys

sys.dont_write_bytecode = True  # no __pycache__ in the source tree
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)) + "/../lib")
import raftdtest as rt  # noqa: E402
from raftdtest import Cluster  # noqa: E402


def main(ck):
    # A cluster object only for its temp dir, ports and cleanup.
    c = Cluster(2, name="badconfig", start=False)
    d = c.dir
    data = os.path.join(d, "data")
    # A valid config, from which each case below breaks one thing.
    good = rt.config_text({1: c.address(1), 2: c.address(2)}, data + "-%i",
                          secret="0123456789abcdef",
                          peers={n: "127.0.0.1:%d" % c.peer_port(n)
                                 for n in (1, 2)})

    def dir_entries():
        return sorted(e for e in os.listdir(d) if not e.endswith(".conf"))

    def case(what, text, args, want, exit_code=2):
        """Runs raftd on config `text` (None: no file written) with `args`;
        expects `exit_code`, every string of `want` in the output, and no
        new file or directory."""
        conf = os.path.join(d, "case.conf")
        if text is not None:
            with open(conf, "w") as f:
                f.write(text)
        args = [a.replace("CONF", conf) for a in args]
        before = dir_entries()
        rc, out = c.run_raw(args)
        ck.eq(rc, exit_code, "%s: exit status" % what)
        for w in want:
            w = w.replace("CONF", conf)
            ck.check(w in out, "%s: the message names %r (got %r)" %
                     (what, w, out.strip()[:300]))
        ck.check(len(out.strip().splitlines()) >= 1, "%s: a message" % what)
        ck.eq(dir_entries(), before, "%s: no data dir or file created" %
              what)
        if text is not None:
            os.unlink(conf)
        return out

    n = 0
    for what, text, args, want in [
        ("an unknown top-level key", good + 'data_dirr = "x";\n',
         ["-c", "CONF", "-i", "1"], ["CONF", "data_dirr"]),
        ("an unknown key in cluster",
         good.replace("\n};", '\n  colour = "red";\n};'),
         ["-c", "CONF", "-i", "1"], ["CONF", "cluster.colour"]),
        ("an unknown key in a node",
         good.replace("id = 2;", "id = 2; port = 5;"),
         ["-c", "CONF", "-i", "1"], ["CONF", "port"]),
        ("a misspelt election key",
         good + "election_timeout_ms = { min = 150; maxx = 300; };\n",
         ["-c", "CONF", "-i", "1"], ["CONF", "maxx"]),
        ("missing nodes", 'cluster = { secret = "x"; };\n'
         'data_dir = "%s-%%i";\n' % data,
         ["-c", "CONF", "-i", "1"], ["CONF", "nodes"]),
        ("no cluster at all", 'data_dir = "%s-%%i";\n' % data,
         ["-c", "CONF", "-i", "1"], ["CONF", "cluster"]),
        ("a duplicate id", good.replace("id = 2;", "id = 1;"),
         ["-c", "CONF", "-i", "1"], ["CONF", "id", "1"]),
        ("a duplicate address",
         good.replace(c.address(2), c.address(1)),
         ["-c", "CONF", "-i", "1"], ["CONF", c.address(1)]),
        ("a non-positive id", good.replace("id = 2;", "id = 0;"),
         ["-c", "CONF", "-i", "1"], ["CONF", "id"]),
        ("an address without a port",
         good.replace(c.address(2), "127.0.0.1"),
         ["-c", "CONF", "-i", "1"], ["CONF", "address"]),
        ("a syntax error", good + "heartbeat_ms = ;\n",
         ["-c", "CONF", "-i", "1"],
         ["CONF:%d:" % (good.count("\n") + 1)]),
        ("no secret for a cluster of two",
         good.replace('  secret = "0123456789abcdef";\n', ''),
         ["-c", "CONF", "-i", "1"], ["CONF", "cluster.secret",
                                     "insecure = true"]),
        ("insecure and a secret at once", good + "insecure = true;\n",
         ["-c", "CONF", "-i", "1"], ["CONF", "insecure"]),
        ("a string where an int belongs", good + 'heartbeat_ms = "50";\n',
         ["-c", "CONF", "-i", "1"], ["CONF", "heartbeat_ms"]),
        ("election min above max",
         good + "election_timeout_ms = { min = 300; max = 150; };\n",
         ["-c", "CONF", "-i", "1"], ["CONF", "election_timeout_ms"]),
        ("an unknown --id", good, ["-c", "CONF", "-i", "9"], ["CONF", "9"]),
        ("an unknown --id with --data-dir", good,
         ["-c", "CONF", "-i", "9", "--data-dir", data + "-x"],
         ["CONF", "9"]),
        ("a bad key with --data-dir", good + "bogus = 1;\n",
         ["-c", "CONF", "-i", "1", "-d", data + "-x"], ["CONF", "bogus"]),
        ("a missing config file", None,
         ["-c", os.path.join(d, "nope.conf"), "-i", "1"],
         [os.path.join(d, "nope.conf")]),
        ("a config that is a directory", None, ["-c", d, "-i", "1"], [d]),
        ("no --config", good, ["-i", "1"], ["--config"]),
        ("--id not a number", good, ["-c", "CONF", "-i", "abc"],
         ["--id", "abc"]),
        ("--id 0", good, ["-c", "CONF", "-i", "0"], ["--id"]),
        ("an unknown option", good, ["-c", "CONF", "-i", "1", "--bogus"],
         ["bogus"]),
        ("--daemon without --pidfile", good,
         ["-c", "CONF", "-i", "1", "--daemon"], ["--pidfile"]),
        ("a bad --log-level", good,
         ["-c", "CONF", "-i", "1", "--log-level", "loud"], ["loud"]),
        ("an extra argument", good, ["-c", "CONF", "-i", "1", "extra"],
         ["extra"]),
        ("no --id and no ./address", good, ["-c", "CONF"], ["address"]),
    ]:
        case(what, text, args, want)
        n += 1

    # A port in use: raftd fails (exit 1) before it creates or touches
    # anything in its data dir (the ports are bound first).
    for which, port in (("client", c.nodes[1].port),
                        ("peer", c.peer_port(1))):
        with socket.socket() as hold:
            hold.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
            hold.bind(("127.0.0.1", port))
            hold.listen(1)
            case("node 1's %s port in use" % which, good,
                 ["-c", "CONF", "-i", "1"], ["cannot listen", str(port)],
                 exit_code=1)
        n += 1
    ck.note("%d bad configs/arguments: exit 2, a message naming the file "
            "and key, no data dir" % n)

    # ./address naming no node.
    with open(os.path.join(d, "address"), "w") as f:
        f.write("10.9.9.9\n")
    case("./address naming no node", good, ["-c", "CONF"], ["address"])
    os.unlink(os.path.join(d, "address"))

    # --help and --version.
    rc, out = c.run_raw(["--help"])
    ck.eq(rc, 0, "--help exits 0")
    ck.check("--config" in out and "--data-dir" in out, "--help lists the "
             "options")
    rc, out = c.run_raw(["--version"])
    ck.eq(rc, 0, "--version exits 0")
    ck.check(out.startswith("raftd "), "--version prints 'raftd VERSION' "
             "(%r)" % out)

    # -t checks the config and exits, touching nothing: the file alone,
    # then with --id the node too.
    conf = os.path.join(d, "t.conf")
    with open(conf, "w") as f:
        f.write(good)
    before = dir_entries()
    rc, out = c.run_raw(["-t", "-c", conf])
    ck.eq(rc, 0, "-t on a good config exits 0")
    ck.check("ok (2 nodes, peers authenticated)" in out, "-t says it is "
             "good (%r)" % out.strip())
    rc, out = c.run_raw(["--test-config", "-c", conf, "-i", "2"])
    ck.eq(rc, 0, "-t -i 2 exits 0")
    ck.check("node 2 at %s" % c.address(2) in out, "-t -i 2 names the "
             "node and its address (%r)" % out.strip())
    rc, out = c.run_raw(["-t", "-c", conf, "-i", "3"])
    ck.eq(rc, 2, "-t -i 3 (not in the config) exits 2")
    with open(conf, "w") as f:
        f.write(good.replace("secret", "secrte"))
    rc, out = c.run_raw(["-t", "-c", conf])
    ck.eq(rc, 2, "-t on a bad config exits 2")
    ck.check("secrte" in out, "-t names the bad key (%r)" % out.strip())
    ck.eq(dir_entries(), before, "-t created nothing")
    os.unlink(conf)

    # The positive control: the same config, without --id, picks the node
    # named by ./address, and -d overrides data_dir.
    conf = os.path.join(d, "good.conf")
    with open(conf, "w") as f:
        f.write(good)
    with open(os.path.join(d, "address"), "w") as f:
        f.write(c.address(2) + "\n")
    dd = os.path.join(d, "override")
    p = c.spawn(["-c", conf, "-d", dd], log_name="by-address")
    st = rt.wait_for(lambda: c.status(2, timeout=2), 15,
                     "the node started by ./address to answer")
    ck.eq(st["id"], 2, "without --id the node is the one in ./address")
    ck.check(os.path.exists(os.path.join(dd, "raftlog")),
             "-d DIR: the raftlog is in DIR")
    ck.check(not os.path.exists(data + "-2"), "-d DIR: the config's "
             "data_dir is not used")
    # One process per data dir: node 1 pointed at the running node's dir
    # is refused (its own port is free, so only the lock can stop it).
    rc, out = c.run_raw(["-c", conf, "-i", "1", "-d", dd])
    ck.check(rc not in (0, None), "a second raftd on a data dir in use "
             "exits non-zero (%r)" % rc)
    ck.check("in use" in out and dd in out, "and says %s is in use (%r)" %
             (dd, out.strip()[-300:]))
    ck.eq(c.status(2)["id"], 2, "the first one still serves")
    os.kill(p.pid, signal.SIGTERM)
    ck.eq(p.wait(10), 0, "it stops on SIGTERM with exit 0")
    c.finish(ck)


rt.run(main)
