"""ports.py: free loopback ports for the nodes of a test or benchmark cluster."""
import random
import socket


def ephemeral_range():
    """The kernel's range of ports for outgoing connections."""
    try:
        with open("/proc/sys/net/ipv4/ip_local_port_range") as f:
            lo, hi = (int(x) for x in f.read().split())
            return lo, hi
    except (OSError, ValueError):
        return 32768, 60999


def free_ports(n, host="127.0.0.1"):
    """n distinct ports of `host` that are free now.  Ports below the
    kernel's ephemeral range are preferred, so that an outgoing connection
    (which takes an ephemeral port) cannot hold a node's port while that
    node is down and being restarted; each candidate is checked by binding
    it.  Falls back to binding port 0.  The ports are free when this
    returns, not reserved: a caller that fails to bind one picks again."""
    lo, _ = ephemeral_range()
    socks = []
    ports = []
    try:
        if lo > 12000:
            for _ in range(200 * n):
                if len(ports) == n:
                    break
                p = random.randrange(10000, lo)
                if p in ports:
                    continue
                s = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
                try:
                    s.bind((host, p))
                except OSError:
                    s.close()
                    continue
                socks.append(s)
                ports.append(p)
        while len(ports) < n:
            s = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
            s.bind((host, 0))
            socks.append(s)
            ports.append(s.getsockname()[1])
    finally:
        for s in socks:
            s.close()
    return ports
