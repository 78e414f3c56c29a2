# test_tls.py: with tls_cert, tls_key and tls_ca every listener speaks HTTPS: the peers elect and replicate over it, clients and raftctl verify the nodes, plain HTTP and a node with another CA's certificate get nowhere.
import os
import shutil
import subprocess
import sys
import xmlrpc.client

sys.dont_write_bytecode = True  # no __pycache__ in the source tree
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)) + "/../lib")
import raftdtest as rt  # noqa: E402
from raftdtest import Cluster, Skip  # noqa: E402


def openssl(*args, cwd):
    subprocess.run(["openssl"] + list(args), cwd=cwd, check=True,
                   stdout=subprocess.DEVNULL, stderr=subprocess.PIPE,
                   timeout=30)


def make_ca(d, name):
    """A throwaway CA: d/NAME.pem and d/NAME.key."""
    openssl("req", "-x509", "-newkey", "ec", "-pkeyopt",
            "ec_paramgen_curve:P-256", "-nodes", "-keyout", name + ".key",
            "-out", name + ".pem", "-days", "1", "-subj",
            "/CN=raftd test %s" % name, cwd=d)


def make_cert(d, ca, name):
    """A certificate for 127.0.0.1 signed by CA: d/NAME.pem, d/NAME.key."""
    openssl("req", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:P-256",
            "-nodes", "-keyout", name + ".key", "-out", name + ".csr",
            "-subj", "/CN=127.0.0.1", cwd=d)
    with open(os.path.join(d, name + ".ext"), "w") as f:
        f.write("subjectAltName=IP:127.0.0.1\n")
    openssl("x509", "-req", "-in", name + ".csr", "-CA", ca + ".pem",
            "-CAkey", ca + ".key", "-CAcreateserial", "-out", name + ".pem",
            "-days", "1", "-extfile", name + ".ext", cwd=d)


def main(ck):
    if shutil.which("openssl") is None:
        raise Skip("openssl is not installed (Debian: openssl)")
    c = Cluster(3, name="tls", start=False)
    d = os.path.join(c.dir, "tls")
    os.mkdir(d)
    make_ca(d, "ca")
    make_ca(d, "rogue")
    for nid in c.ids():
        make_cert(d, "ca", "node-%d" % nid)
    c.extra = {"tls_cert": os.path.join(d, "node-%i.pem"),
               "tls_key": os.path.join(d, "node-%i.key"),
               "tls_ca": os.path.join(d, "ca.pem")}
    c.write_config()
    c.start_all()
    lead, term = c.stable_leader()
    ck.note("leader %d in term %d, elected over TLS" % (lead, term))
    ck.eq(c.call_with_retry("put", "k", "secret-value"), True,
          "a put over HTTPS commits")
    c.wait_caught_up()
    ck.eq(c.client(lead).get("k"), "secret-value", "and reads back")

    # Plain HTTP gets no XML-RPC answer.
    try:
        rt.proxy(c.address(lead), timeout=5).status()
        ck.check(False, "plain HTTP answered")
    except (OSError, xmlrpc.client.Error) as e:
        ck.note("plain HTTP: %s" % type(e).__name__)
    # A client that trusts another CA refuses the node.
    try:
        rt.proxy(c.address(lead), timeout=5,
                 cafile=os.path.join(d, "rogue.pem")).status()
        ck.check(False, "a client trusting another CA accepted the node")
    except OSError as e:
        ck.check("CERTIFICATE_VERIFY_FAILED" in str(e) or
                 "certificate verify failed" in str(e),
                 "a client trusting another CA refuses the node (%s)" % e)

    # raftctl -c reads tls_ca from the config.
    raftctl = rt.build_path("raftctl")
    r = subprocess.run([raftctl, "-c", c.conf, "put", "from-raftctl", "v"],
                       stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
                       text=True, timeout=30)
    ck.eq(r.returncode, 0, "raftctl -c put over TLS (%s)" % r.stdout.strip())
    r = subprocess.run([raftctl, "-c", c.conf, "get", "from-raftctl"],
                       stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
                       text=True, timeout=30)
    ck.eq((r.returncode, r.stdout.strip()), (0, "v"), "raftctl -c get")
    # raftctl health: GET /health over https, verified with the same CA.
    r = subprocess.run([raftctl, "-c", c.conf, "health"],
                       stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
                       text=True, timeout=30)
    ck.check(r.returncode == 0 and
             r.stdout.count(" is healthy: took ") == len(c.ids()),
             "raftctl -c health over TLS: %r" % r.stdout)

    # A node whose certificate another CA signed: the others refuse its
    # TLS, so it never gets an entry, and the cluster goes on without it.
    victim = [n for n in c.ids() if n != lead][0]
    c.stop(victim)
    make_cert(d, "rogue", "node-%d" % victim)
    c.spawn_node(victim)
    rogue_px = rt.proxy(c.address(victim), timeout=2,
                        cafile=os.path.join(d, "rogue.pem"))
    rt.wait_for(lambda: rogue_px.status(), 15,
                "the node with another CA's certificate to answer")
    for i in range(5):
        ck.eq(c.call_with_retry("put", "after/%d" % i, "x"), True,
              "put %d with a node of another CA" % i)
    st = rogue_px.status()
    others = [c.client(n).status() for n in c.ids() if n != victim]
    ck.check(st["commitIndex"] < min(o["commitIndex"] for o in others),
             "the node with another CA's certificate is left behind "
             "(commit %d, the others %r)" %
             (st["commitIndex"], [o["commitIndex"] for o in others]))
    ck.check("certificate" in c.log_text(lead).lower() or
             "ssl" in c.log_text(lead).lower() or
             "tls" in c.log_text(lead).lower(),
             "the leader's log says why that peer is unreachable")
    c.finish(ck)


rt.run(main)
