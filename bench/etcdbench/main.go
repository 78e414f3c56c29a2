// etcdbench: the etcd counterpart of bench/raftbench.c, built with etcd's own
// Go client (clientv3): N clients doing put or linearizable get against the
// leader for a duration, printing the same key=value summary as raftbench;
// and a failover helper driven over stdin by bench/sidebyside.py.
//
//	etcdbench -s HOST:PORT[,...] [-c CLIENTS] [-n CONNS] [-d SECONDS]
//	          [-w WARMUP] [-o put|get|failover] [-v VALUE_BYTES] [-k KEYS]
//
// Clients are goroutines; they share CONNS clientv3.Client instances (one
// gRPC/HTTP-2 connection each), client i using connection i % CONNS, which is
// how etcd's own benchmark tool spreads its --clients over its --conns.
// -n 0 means one connection per client.  All connections go to the leader
// only: followers would forward every proposal and ReadIndex to it, an extra
// hop that raftbench (which also talks to the leader) does not pay.
//
// Built offline from Debian's golang-etcd-server-dev in GOPATH mode:
//
//	GO111MODULE=off GOPATH=/usr/share/gocode go build -o etcdbench .
package main

import (
	"bufio"
	"context"
	"flag"
	"fmt"
	"os"
	"sort"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"go.etcd.io/etcd/clientv3"
	"go.uber.org/zap"
)

type bench struct {
	endpoints []string
	clients   int
	conns     int
	duration  time.Duration
	warmup    time.Duration
	op        string
	value     string
	keys      uint64

	done, errors, progress int64
	start, measure, end    time.Time

	mu      sync.Mutex // guards samples
	samples []time.Duration
}

func newClient(endpoint string) (*clientv3.Client, error) {
	// Retries and reconnects log at warn level; the benchmark counts errors.
	lc := zap.NewProductionConfig()
	lc.Level = zap.NewAtomicLevelAt(zap.ErrorLevel)
	return clientv3.New(clientv3.Config{
		Endpoints:   []string{endpoint},
		DialTimeout: 2 * time.Second,
		LogConfig:   &lc,
	})
}

// statusOf asks one member for its status through its own connection.
func statusOf(c *clientv3.Client, endpoint string, timeout time.Duration) (*clientv3.StatusResponse, error) {
	ctx, cancel := context.WithTimeout(context.Background(), timeout)
	defer cancel()
	return c.Status(ctx, endpoint)
}

// findLeader returns the index of the member that is leader, or -1.
func findLeader(cs []*clientv3.Client, endpoints []string, skip int) int {
	ids := make([]uint64, len(endpoints))
	var leader uint64
	for i, ep := range endpoints {
		if i == skip || cs[i] == nil {
			continue
		}
		st, err := statusOf(cs[i], ep, 500*time.Millisecond)
		if err != nil {
			continue
		}
		ids[i] = st.Header.MemberId
		if st.Leader != 0 {
			leader = st.Leader
		}
	}
	for i := range endpoints {
		if leader != 0 && ids[i] == leader {
			return i
		}
	}
	return -1
}

func dialAll(endpoints []string) []*clientv3.Client {
	cs := make([]*clientv3.Client, len(endpoints))
	for i, ep := range endpoints {
		c, err := newClient(ep)
		if err == nil {
			cs[i] = c
		}
	}
	return cs
}

func closeAll(cs []*clientv3.Client) {
	for _, c := range cs {
		if c != nil {
			c.Close()
		}
	}
}

// waitLeader scans for the leader for at most 10 s.
func waitLeader(endpoints []string) (string, error) {
	cs := dialAll(endpoints)
	defer closeAll(cs)
	deadline := time.Now().Add(10 * time.Second)
	for time.Now().Before(deadline) {
		if i := findLeader(cs, endpoints, -1); i >= 0 {
			return endpoints[i], nil
		}
		time.Sleep(20 * time.Millisecond)
	}
	return "", fmt.Errorf("no leader within 10 s")
}

func (b *bench) worker(id int, c *clientv3.Client, wg *sync.WaitGroup) {
	defer wg.Done()
	var local []time.Duration
	var seq uint64
	for {
		t0 := time.Now()
		if !t0.Before(b.end) {
			break
		}
		seq++
		var err error
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		if b.op == "get" {
			_, err = c.Get(ctx, "bench-get-"+strconv.FormatUint(seq%100, 10))
		} else {
			k := seq
			if b.keys != 0 {
				k = seq % b.keys
			}
			_, err = c.Put(ctx, "bench-"+strconv.Itoa(id)+"-"+strconv.FormatUint(k, 10), b.value)
		}
		cancel()
		t1 := time.Now()
		if err != nil {
			atomic.AddInt64(&b.errors, 1)
			time.Sleep(time.Millisecond) // no hot loop on a failing member
			continue
		}
		if !t0.Before(b.measure) {
			local = append(local, t1.Sub(t0))
			atomic.AddInt64(&b.done, 1)
		}
		atomic.AddInt64(&b.progress, 1)
	}
	b.mu.Lock()
	b.samples = append(b.samples, local...)
	b.mu.Unlock()
}

func pct(v []time.Duration, p float64) float64 {
	if len(v) == 0 {
		return 0
	}
	i := int(p/100.0*float64(len(v)-1) + 0.5)
	return float64(v[i]) / 1e6
}

func runLoad(b *bench) int {
	leader, err := waitLeader(b.endpoints)
	if err != nil {
		fmt.Fprintln(os.Stderr, "etcdbench:", err)
		return 1
	}
	nconns := b.conns
	if nconns <= 0 || nconns > b.clients {
		nconns = b.clients
	}
	conns := make([]*clientv3.Client, nconns)
	for i := range conns {
		if conns[i], err = newClient(leader); err != nil {
			fmt.Fprintln(os.Stderr, "etcdbench: client:", err)
			return 1
		}
		defer conns[i].Close()
	}
	if b.op == "get" {
		// Keys to read: written once before the clock starts.
		for k := 0; k < 100; k++ {
			ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
			_, err = conns[0].Put(ctx, "bench-get-"+strconv.Itoa(k), "value")
			cancel()
			if err != nil {
				fmt.Fprintln(os.Stderr, "etcdbench: pre-write:", err)
				return 1
			}
		}
	}
	b.start = time.Now()
	b.measure = b.start.Add(b.warmup)
	b.end = b.measure.Add(b.duration)
	var wg sync.WaitGroup
	for i := 0; i < b.clients; i++ {
		wg.Add(1)
		go b.worker(i, conns[i%nconns], &wg)
	}
	var last int64
	for i := 1; ; i++ {
		t := b.start.Add(time.Duration(i) * time.Second)
		time.Sleep(time.Until(t))
		if t.After(b.end) {
			break
		}
		cur := atomic.LoadInt64(&b.progress)
		warm := ""
		if !t.After(b.measure) {
			warm = " (warm-up)"
		}
		fmt.Fprintf(os.Stderr, "etcdbench: %3ds %s %8d ops/s errors %d%s\n",
			i, b.op, cur-last, atomic.LoadInt64(&b.errors), warm)
		last = cur
	}
	wg.Wait()
	sort.Slice(b.samples, func(i, j int) bool { return b.samples[i] < b.samples[j] })
	n := len(b.samples)
	secs := b.duration.Seconds()
	maxms := 0.0
	if n > 0 {
		maxms = float64(b.samples[n-1]) / 1e6
	}
	fmt.Printf("op=%s clients=%d value_bytes=%d seconds=%.1f ops=%d "+
		"errors=%d ops_per_s=%.0f p50_ms=%.3f p90_ms=%.3f "+
		"p99_ms=%.3f p999_ms=%.3f max_ms=%.3f conns=%d\n",
		b.op, b.clients, len(b.value), secs, n, atomic.LoadInt64(&b.errors),
		float64(n)/secs, pct(b.samples, 50), pct(b.samples, 90),
		pct(b.samples, 99), pct(b.samples, 99.9), maxms, nconns)
	if n == 0 {
		return 1
	}
	return 0
}

// failoverWrite puts through the survivors until one put commits.  A
// follower that still believes in the dead leader forwards the proposal
// into the void and the call hangs, so a new attempt is started every 2 ms,
// round-robin over the survivors, each with its own timeout; the first to
// succeed ends the wait.
func failoverWrite(cs []*clientv3.Client, dead int, timeout time.Duration, seq int) bool {
	ctx, cancel := context.WithTimeout(context.Background(), timeout)
	defer cancel()
	won := make(chan struct{}, 1)
	tick := time.NewTicker(2 * time.Millisecond)
	defer tick.Stop()
	key := "failover"
	for n := 0; n < int(timeout/(2*time.Millisecond))+1; n++ {
		i := (dead + 1 + n%(len(cs)-1)) % len(cs)
		if cs[i] != nil {
			go func(c *clientv3.Client, n int) {
				actx, acancel := context.WithTimeout(ctx, 2*time.Second)
				defer acancel()
				v := fmt.Sprintf("fo-%d-%d-%d", os.Getpid(), seq, n)
				if _, err := c.Put(actx, key, v); err == nil {
					select {
					case won <- struct{}{}:
					default:
					}
				}
			}(cs[i], n)
		}
		select {
		case <-won:
			return true
		case <-ctx.Done():
			return false
		case <-tick.C:
		}
	}
	return false
}

// ready waits until member i has a leader and has applied everything the
// leader had when asked.
func ready(cs []*clientv3.Client, endpoints []string, i int, timeout time.Duration) bool {
	deadline := time.Now().Add(timeout)
	var want uint64
	for time.Now().Before(deadline) {
		if want == 0 {
			if l := findLeader(cs, endpoints, i); l >= 0 {
				if st, err := statusOf(cs[l], endpoints[l], 500*time.Millisecond); err == nil {
					want = st.RaftIndex
				}
			}
		} else if st, err := statusOf(cs[i], endpoints[i], 500*time.Millisecond); err == nil &&
			st.Leader != 0 && st.RaftAppliedIndex >= want {
			return true
		}
		time.Sleep(20 * time.Millisecond)
	}
	return false
}

// runFailover serves the side-by-side script, one command per line:
//
//	leader               -> "leader I" (1-based; 0 when none is known)
//	put I                -> "ok" or "err MESSAGE"   (a put through member I)
//	failover DEAD MS     -> "ok" or "fail"          (first commit via a survivor)
//	ready I MS           -> "ok" or "fail"          (member I restarted: redial, wait)
//	quit
//
// The caller times the failover itself, from just before its kill -9.
func runFailover(endpoints []string) int {
	cs := dialAll(endpoints)
	defer func() { closeAll(cs) }()
	in := bufio.NewScanner(os.Stdin)
	out := bufio.NewWriter(os.Stdout)
	seq := 0
	for in.Scan() {
		f := strings.Fields(in.Text())
		if len(f) == 0 {
			continue
		}
		arg := func(k int) int {
			if k < len(f) {
				v, _ := strconv.Atoi(f[k])
				return v
			}
			return 0
		}
		seq++
		switch f[0] {
		case "leader":
			fmt.Fprintf(out, "leader %d\n", findLeader(cs, endpoints, -1)+1)
		case "put":
			i := arg(1) - 1
			if i < 0 || i >= len(cs) || cs[i] == nil {
				fmt.Fprintln(out, "err bad member")
				break
			}
			ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
			_, err := cs[i].Put(ctx, "failover", fmt.Sprintf("pre-%d-%d", os.Getpid(), seq))
			cancel()
			if err != nil {
				fmt.Fprintln(out, "err", strings.ReplaceAll(err.Error(), "\n", " "))
			} else {
				fmt.Fprintln(out, "ok")
			}
		case "failover":
			if failoverWrite(cs, arg(1)-1, time.Duration(arg(2))*time.Millisecond, seq) {
				fmt.Fprintln(out, "ok")
			} else {
				fmt.Fprintln(out, "fail")
			}
		case "ready":
			i := arg(1) - 1
			if i < 0 || i >= len(cs) {
				fmt.Fprintln(out, "fail")
				break
			}
			// A fresh connection: the old one sits in gRPC's reconnect backoff.
			if cs[i] != nil {
				cs[i].Close()
			}
			cs[i], _ = newClient(endpoints[i])
			if cs[i] != nil && ready(cs, endpoints, i, time.Duration(arg(2))*time.Millisecond) {
				fmt.Fprintln(out, "ok")
			} else {
				fmt.Fprintln(out, "fail")
			}
		case "quit":
			out.Flush()
			return 0
		default:
			fmt.Fprintln(out, "err unknown command")
		}
		out.Flush()
	}
	return 0
}

func usage() {
	fmt.Fprintln(os.Stderr, "usage: etcdbench -s HOST:PORT[,...] [-c CLIENTS] [-n CONNS] [-d SECONDS]\n"+
		"                 [-w WARMUP] [-o put|get|failover] [-v VALUE_BYTES] [-k KEYS]")
	os.Exit(2)
}

func main() {
	servers := flag.String("s", "", "members, HOST:PORT[,...]")
	clients := flag.Int("c", 1, "concurrent clients")
	conns := flag.Int("n", 0, "client connections shared by the clients (0: one each)")
	duration := flag.Float64("d", 10, "measured seconds")
	warmup := flag.Float64("w", 2, "warm-up seconds, not counted")
	op := flag.String("o", "put", "put, get or failover")
	vbytes := flag.Int("v", 100, "value bytes")
	keys := flag.Uint64("k", 0, "keys per client (0: every put a new key)")
	flag.Usage = usage
	flag.Parse()
	if *servers == "" || *clients < 1 || *duration <= 0 || *vbytes < 0 ||
		(*op != "put" && *op != "get" && *op != "failover") {
		usage()
	}
	endpoints := strings.Split(*servers, ",")
	if *op == "failover" {
		os.Exit(runFailover(endpoints))
	}
	b := &bench{
		endpoints: endpoints,
		clients:   *clients,
		conns:     *conns,
		duration:  time.Duration(*duration * float64(time.Second)),
		warmup:    time.Duration(*warmup * float64(time.Second)),
		op:        *op,
		value:     strings.Repeat("x", *vbytes),
		keys:      *keys,
	}
	os.Exit(runLoad(b))
}
