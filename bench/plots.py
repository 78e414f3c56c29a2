#!/usr/bin/env python3
"""plots.py: draw the benchmarks' raw results (CSV) as SVG with gnuplot.

    bench/plots.py [--png] DATA_DIR OUT_DIR

DATA_DIR holds what the bench scripts wrote with --data:

  sidebyside-loads.csv     (bench/sidebyside.py) one row per load phase
  sidebyside-failover.csv  (bench/sidebyside.py) one row per leader kill
  failover.csv             (bench/failover.py)   one row per leader kill

and OUT_DIR receives, for each input that is there:

  throughput.svg      puts/s against clients, raftd beside etcd: the median
                      over the rounds, bars from the lowest to the highest
  latency.svg         put latency p50/p90/p99/p99.9 at up to three client
                      counts, raftd beside etcd, median and range over rounds
  failover.svg        the distribution (CDF) of the time from a leader's
                      kill -9 to the first committed write, raftd and etcd
  failover-raftd.svg  histogram of raftd's kill -> new leader and kill ->
                      first committed write (bench/failover.py)

--png also writes each as PNG (gnuplot's pngcairo).  Every figure comes from
the CSV rows; nothing is typed in here.  The '#' lines the benches write
(command, date, load average) go into each plot's subtitle.  Exits 1 with a
message on a missing column, a non-numeric value or when no input is found,
2 on bad arguments, 77 when gnuplot is not installed.
"""
import argparse
import csv
import math
import os
import shutil
import statistics
import subprocess
import sys
import tempfile

COLORS = {"raftd": "#1f77b4", "etcd": "#d62728"}
PCTS = [("p50_ms", "p50"), ("p90_ms", "p90"), ("p99_ms", "p99"), ("p999_ms", "p99.9")]


class DataError(Exception):
    pass


def read_csv(path, need):
    """(rows as dicts, '#' comment lines) of a bench CSV; checks columns."""
    comments, lines = [], []
    with open(path, newline="") as f:
        for line in f:
            if line.startswith("#"):
                comments.append(line[1:].strip())
            elif line.strip():
                lines.append(line)
    rows = list(csv.DictReader(lines))
    if not lines:
        raise DataError("%s: no header line" % path)
    missing = [c for c in need if c not in (rows[0].keys() if rows else
                                            next(csv.reader(lines[:1])))]
    if missing:
        raise DataError("%s: missing column(s) %s" % (path, ", ".join(missing)))
    if not rows:
        raise DataError("%s: no data rows" % path)
    return rows, comments


def num(row, key, path):
    try:
        v = float(row[key])
    except (TypeError, ValueError):
        raise DataError("%s: %s=%r is not a number" % (path, key, row[key]))
    if v != v or v < 0:
        raise DataError("%s: %s=%r out of range" % (path, key, row[key]))
    return v


def header(comments, key):
    for c in comments:
        if c.startswith(key + ":"):
            return c.split(":", 1)[1].strip()
    return None


def subtitle(comments, extra, rows=()):
    """extra; the date; the 1-minute load average over the run (the load1
    column, else the '#' lines at the start and the end)."""
    date = (header(comments, "date") or "date unknown")[:10]
    loads = []
    for r in rows:
        try:
            loads.append(float(r.get("load1", "")))
        except ValueError:
            pass
    for key in ("loadavg at start", "loadavg at end"):
        try:
            loads.append(float((header(comments, key) or "").split()[0]))
        except (ValueError, IndexError):
            pass
    la = ("%.2f-%.2f" % (min(loads), max(loads))) if loads else "unknown"
    return "%s; %s; 1-minute load average %s" % (extra, date, la)


def log_tics(lo, hi):
    """1-2-5 tics from lo to hi, for a log axis."""
    tics, d = [], 10.0 ** math.floor(math.log10(lo))
    while d <= hi:
        for m in (1, 2, 5):
            if lo <= m * d <= hi:
                tics.append(m * d)
        d *= 10
    return "set ytics (%s)" % ", ".join('"%g" %g' % (t, t) for t in tics)


def q(s):
    """A gnuplot string literal."""
    return '"' + s.replace("\\", "\\\\").replace('"', '\\"').replace("\n", "\\n") + '"'


def terminal(fmt, w, h):
    if fmt == "svg":
        return ("set terminal svg size %d,%d dynamic noenhanced "
                "font 'Helvetica,13' background rgb 'white'" % (w, h))
    return "set terminal pngcairo size %d,%d noenhanced font 'Helvetica,10'" % (w, h)


def stats3(xs):
    return statistics.median(xs), min(xs), max(xs)


def throughput(rows, comments, path, tmp):
    """Data and script body of throughput.svg; None when there are no puts."""
    groups = {}
    for r in rows:
        if r["op"] != "put":
            continue
        c = int(num(r, "clients", path))
        groups.setdefault((r["system"], c), []).append(num(r, "ops_per_s", path))
    if not groups:
        return None
    systems = [s for s in ("raftd", "etcd") if any(k[0] == s for k in groups)]
    rounds = max(len(v) for v in groups.values())
    plots = []
    for i, s in enumerate(systems):
        dat = os.path.join(tmp, "tput-%s.dat" % s)
        with open(dat, "w") as f:
            for c in sorted(k[1] for k in groups if k[0] == s):
                m, lo, hi = stats3(groups[(s, c)])
                # Nudge the two systems apart so their bars do not overlap.
                f.write("%g %g %g %g %g\n" % (c * (0.96 if i == 0 else 1.04), m, lo, hi, c))
        plots.append("%s using 1:2:3:4 with yerrorlines lw 2 pt 7 ps 0.8 lc rgb %s "
                     "title %s" % (q(dat), q(COLORS.get(s, "black")),
                                   q("%s (median, min-max)" % s)))
    clients = sorted({k[1] for k in groups})
    return "\n".join([
        "set title %s" % q("Put throughput against concurrent clients, 5 nodes, "
                           "fsync on, 100-byte values\n%s" % subtitle(
                               comments, "%d round%s per point" % (rounds, "s" if rounds > 1 else ""),
                               rows)),
        "set logscale x 2",
        "set xrange [%g:%g]" % (clients[0] / 1.5, clients[-1] * 1.5),
        "set xtics (%s)" % ", ".join('"%d" %d' % (c, c) for c in clients),
        "set xlabel 'concurrent clients (one connection each to the leader)'",
        "set ylabel 'committed puts per second'",
        "set yrange [0:*]",
        "set grid",
        "set key top left",
        "plot " + ", ".join(plots),
    ])


def latency(rows, comments, path, tmp):
    groups = {}
    for r in rows:
        if r["op"] != "put":
            continue
        c = int(num(r, "clients", path))
        for key, _ in PCTS:
            if r.get(key, "") != "":
                groups.setdefault((r["system"], c, key), []).append(num(r, key, path))
    if not groups:
        return None
    clients = sorted({k[1] for k in groups})
    if len(clients) > 3:  # the lowest, one in the middle and the highest
        clients = [clients[0], clients[len(clients) // 2], clients[-1]]
    systems = [s for s in ("raftd", "etcd") if any(k[0] == s for k in groups)]
    rounds = max(len(v) for v in groups.values())
    lo_all = min(min(v) for v in groups.values())
    hi_all = max(max(v) for v in groups.values())
    out = ["set multiplot layout 1,%d title %s" % (
        len(clients), q("Put latency percentiles, raftd beside etcd (5 nodes, fsync on)\n"
                        "%s" % subtitle(comments, "median of %d round%s, bars min-max"
                                        % (rounds, "s" if rounds > 1 else ""), rows))),
           "set logscale y",
           "set yrange [%g:%g]" % (lo_all / 1.5, hi_all * 1.5),
           log_tics(lo_all / 1.5, hi_all * 1.5),
           "set xrange [-0.5:%d.5]" % (len(PCTS) - 1),
           "set xtics (%s)" % ", ".join('"%s" %d' % (n, i) for i, (_, n) in enumerate(PCTS)),
           "set grid ytics mytics",
           "set key top left",
           "set xlabel 'percentile'"]
    for j, c in enumerate(clients):
        plots = []
        for i, s in enumerate(systems):
            dat = os.path.join(tmp, "lat-%s-%d.dat" % (s, c))
            with open(dat, "w") as f:
                for x, (key, _) in enumerate(PCTS):
                    if (s, c, key) in groups:
                        m, lo, hi = stats3(groups[(s, c, key)])
                        f.write("%g %g %g %g\n" % (x + (-0.08 if i == 0 else 0.08), m, lo, hi))
            plots.append("%s using 1:2:3:4 with yerrorlines lw 2 pt 7 ps 0.8 lc rgb %s "
                         "title %s" % (q(dat), q(COLORS.get(s, "black")), q(s)))
        out.append("set title %s" % q("%d client%s" % (c, "s" if c > 1 else "")))
        out.append("set ylabel %s" % q("put latency (ms, log scale)" if j == 0 else ""))
        out.append("plot " + ", ".join(plots))
    out.append("unset multiplot")
    return "\n".join(out)


def cdf_file(tmp, name, xs):
    """Steps of the empirical CDF, starting at 0."""
    xs = sorted(xs)
    path = os.path.join(tmp, name)
    with open(path, "w") as f:
        f.write("%g 0\n" % xs[0])
        for i, x in enumerate(xs):
            f.write("%g %g\n" % (x, (i + 1) / len(xs)))
    return path


def failover_cdf(rows, comments, path, tmp):
    per = {}
    for r in rows:
        per.setdefault(r["system"], []).append(num(r, "ms", path))
    systems = [s for s in ("raftd", "etcd") if s in per]
    if not systems:
        return None
    plots = []
    for s in systems:
        xs = per[s]
        dat = cdf_file(tmp, "fo-%s.dat" % s, xs)
        plots.append("%s using 1:2 with steps lw 2 lc rgb %s title %s" % (
            q(dat), q(COLORS.get(s, "black")),
            q("%s: %d kills, median %.0f ms, max %.0f ms"
              % (s, len(xs), statistics.median(xs), max(xs)))))
    hi = max(max(per[s]) for s in systems)
    return "\n".join([
        "set title %s" % q("Failover: kill -9 of the leader to the first committed write\n"
                           "%s" % subtitle(
                               comments, "5 nodes; timeouts raftd 150-300 ms, "
                               "etcd 250-500 ms; heartbeat 50 ms", rows)),
        "set xlabel 'time from the kill to a committed write through a survivor (ms)'",
        "set ylabel 'fraction of kills (cumulative)'",
        "set xrange [0:%g]" % (hi * 1.1),
        "set yrange [0:1.05]",
        "set grid",
        "set key bottom right",
        "plot " + ", ".join(plots),
    ])


def failover_hist(rows, comments, path, tmp):
    leader = [num(r, "leader_ms", path) for r in rows]
    write = [num(r, "write_ms", path) for r in rows]
    width = 10.0
    dat = os.path.join(tmp, "fo-raftd.dat")
    bins = {}
    for x in leader:
        bins.setdefault(int(x // width), [0, 0])[0] += 1
    for x in write:
        bins.setdefault(int(x // width), [0, 0])[1] += 1
    with open(dat, "w") as f:
        for b in range(min(bins), max(bins) + 1):
            n = bins.get(b, [0, 0])
            f.write("%g %d %d\n" % (b * width, n[0], n[1]))
    cluster = header(comments, "cluster") or "raftd"
    lo_x = max(0.0, min(min(leader), 150.0) // 50 * 50 - 50)
    shade = []
    # The election timeout range, from failover.py's header line.
    if "timeouts" in cluster:
        try:
            lo, hi = cluster.split("timeouts", 1)[1].split("ms")[0].strip().split("-")
            lo, hi = float(lo), float(hi)
            shade = ["set object 1 rect from %g, graph 0 to %g, graph 1 behind "
                     "fc rgb '#eeeeee' fs solid noborder" % (lo, hi),
                     "set label 1 'election timeout range' at %g, graph 0.96 center "
                     "tc rgb '#666666'" % ((lo + hi) / 2)]
            lo_x = max(0.0, min(lo_x, lo - 50))
        except ValueError:
            shade = []
    return "\n".join([
        "set title %s" % q("raftd failover: time from kill -9 of the leader, %d kills "
                           "(bench/failover.py)\n%s" % (len(rows), subtitle(comments, cluster))),
        "set xlabel 'time from the kill (ms; bins of %g ms, two bars per bin)'"
        % width,
        "set ylabel 'number of kills'",
        "set xrange [%g:%g]" % (lo_x, (max(bins) + 2) * width),
        "set yrange [0:%g]" % (max(max(n) for n in bins.values()) * 1.2),
        "set ytics %d" % max(1, -(-max(max(n) for n in bins.values()) // 8)),
        "set style fill solid 0.8 border",
        "set boxwidth %g" % (width * 0.42),
        "set grid ytics",
        "set key below",
    ] + shade + [
        "plot %s using ($1+%g):2 with boxes lc rgb '#1f77b4' title %s, "
        "%s using ($1+%g):3 with boxes lc rgb '#ff7f0e' title %s" % (
            q(dat), width * 0.27,
            q("a new leader (a survivor answers isLeader() true): median %.0f ms, max %.0f ms"
              % (statistics.median(leader), max(leader))),
            q(dat), width * 0.73,
            q("the first committed write through it: median %.0f ms, max %.0f ms"
              % (statistics.median(write), max(write)))),
    ])


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("data_dir")
    ap.add_argument("out_dir")
    ap.add_argument("--png", action="store_true", help="PNG too (pngcairo)")
    a = ap.parse_args()
    gnuplot = shutil.which("gnuplot")
    if gnuplot is None:
        print("plots.py: gnuplot not found (Debian: gnuplot-nox; bench/deps.sh)",
              file=sys.stderr)
        return 77
    jobs = [  # output name, input, columns needed, body, size
        ("throughput", "sidebyside-loads.csv",
         ("system", "op", "clients", "ops_per_s"), throughput, (800, 520)),
        ("latency", "sidebyside-loads.csv",
         ("system", "op", "clients", "p50_ms", "p90_ms", "p99_ms", "p999_ms"),
         latency, (1100, 480)),
        ("failover", "sidebyside-failover.csv", ("system", "ms"), failover_cdf, (800, 520)),
        ("failover-raftd", "failover.csv", ("leader_ms", "write_ms"), failover_hist,
         (800, 520)),
    ]
    fmts = ["svg", "png"] if a.png else ["svg"]
    made = 0
    tmp = tempfile.mkdtemp(prefix="raftd-plots-")
    try:
        os.makedirs(a.out_dir, exist_ok=True)
        for name, src, need, body_of, (w, h) in jobs:
            path = os.path.join(a.data_dir, src)
            if not os.path.exists(path):
                print("plots.py: no %s, no %s plot" % (path, name), file=sys.stderr)
                continue
            rows, comments = read_csv(path, need)
            body = body_of(rows, comments, path, tmp)
            if body is None:
                print("plots.py: %s: nothing for the %s plot" % (path, name), file=sys.stderr)
                continue
            for fmt in fmts:
                out = os.path.join(a.out_dir, "%s.%s" % (name, fmt))
                gp = os.path.join(tmp, "%s-%s.gp" % (name, fmt))
                with open(gp, "w") as f:
                    f.write("%s\nset output %s\n%s\n" % (
                        terminal(fmt, w, h), q(out), body))
                r = subprocess.run([gnuplot, gp], stdout=subprocess.PIPE,
                                   stderr=subprocess.STDOUT, text=True, timeout=60)
                if r.returncode != 0:
                    raise DataError("gnuplot failed on %s:\n%s" % (name, r.stdout))
                print(out)
                made += 1
    except (DataError, OSError, KeyError, subprocess.SubprocessError) as e:
        print("plots.py: %s" % e, file=sys.stderr)
        return 1
    finally:
        shutil.rmtree(tmp, ignore_errors=True)
    if made == 0:
        print("plots.py: no bench data in %s" % a.data_dir, file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
