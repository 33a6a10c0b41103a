package emulator

import (
	"strings"
	"time"

	"github.com/ngxlint/ngxlint/versions"
)

// Return codes of a peer.get, as nginx's ngx_event_get_peer_pt returns them.
const (
	ngxOK       = 0
	ngxError    = -1
	ngxAgain    = -2
	ngxBusy     = -3
	ngxDone     = -4
	ngxDeclined = -5
)

// Peer free states (ngx_event_connect.h).
const (
	peerKeepalive = 1
	peerNext      = 2
	peerFailed    = 4
)

// ---- round robin (ngx_http_upstream_round_robin.c) ----

type rrPeer struct {
	addr        string // normalised, the backend key
	name        string // as written (peer->server, what hash consistent hashes)
	weight      int
	effective   int
	current     int
	maxFails    int
	failTimeout int64 // seconds, nginx compares ngx_time() values
	down        bool
	fails       int
	accessed    int64
	checked     int64
	conns       int
}

// rrPeers is one level (primary or backup) of a round-robin upstream. It is
// per Run (per worker), so fails and weights persist across client requests.
type rrPeers struct {
	single bool
	peers  []*rrPeer
	next   *rrPeers
	// totalWeight is peers->total_weight: the weights of all the level's
	// servers, down ones included (ngx_http_upstream_init_round_robin).
	totalWeight int
}

// rrData is ngx_http_upstream_rr_peer_data_t: per client request, with
// the state the hash, ip_hash and random methods keep next to it.
type rrData struct {
	peers   *rrPeers
	current *rrPeer
	tried   []bool
	m       methodData
}

func newRRPeers(servers []Server) (primary *rrPeers) {
	mk := func(s Server) *rrPeer {
		w := s.Weight
		if w <= 0 {
			w = versions.DefaultWeight
		}
		return &rrPeer{addr: NormAddr(s.Addr, 80), name: strings.TrimSpace(s.Addr), weight: w, effective: w,
			maxFails: maxFails(s), failTimeout: failTimeout(s), down: s.Down}
	}
	primary = &rrPeers{}
	backup := &rrPeers{}
	for _, s := range servers {
		if s.Backup {
			backup.peers = append(backup.peers, mk(s))
		} else {
			primary.peers = append(primary.peers, mk(s))
		}
	}
	// ngx_http_upstream_init_round_robin: single = (n == 1), cleared when
	// backup servers exist.
	primary.single = len(primary.peers) == 1
	for _, lvl := range []*rrPeers{primary, backup} {
		for _, p := range lvl.peers {
			lvl.totalWeight += p.weight
		}
	}
	if len(backup.peers) > 0 {
		primary.single = false
		primary.next = backup
	}
	return primary
}

// initTries is ngx_http_upstream_tries(peers): primary plus backup count.
// Since 1.19.6 (cfa669151) servers marked down are not counted.
func (r *run) initTries(p *rrPeers) uint64 {
	var n uint64
	for lvl := p; lvl != nil; lvl = lvl.next {
		for _, pe := range lvl.peers {
			if pe.down && !versions.DownCountsInTries(r.prof.Nginx) {
				continue
			}
			n++
		}
	}
	return n
}

// rrGet is ngx_http_upstream_get_round_robin_peer.
func (r *run) rrGet(u *ureq) int {
	// Round robin always clears the cached flag and connection.
	u.pc.cached = false
	u.pc.conn = nil
	d := u.rr
	peers := d.peers
	var pe *rrPeer
	if peers.single {
		// A single peer ignores max_fails; only down makes it fail.
		if !peers.peers[0].down {
			pe = peers.peers[0]
			d.current = pe
		}
	} else {
		pe = r.rrPick(d)
	}
	if pe != nil {
		u.pc.sockaddr = pe.addr
		u.pc.name = pe.name
		pe.conns++
		return ngxOK
	}
	if peers.next != nil {
		d.peers = peers.next
		d.tried = make([]bool, len(d.peers.peers))
		if rc := r.rrGet(u); rc != ngxBusy {
			return rc
		}
	}
	// Up to 1.11.4 all peers were marked live again for "quick recovery";
	// 1.11.5 removed it (fd9e74f65).
	if r.prof.Nginx.Less("1.11.5") {
		for _, p := range peers.peers {
			p.fails = 0
		}
	}
	return ngxBusy
}

// rrPick is ngx_http_upstream_get_peer: smooth weighted round robin over
// peers not yet tried, not down and not failed within fail_timeout.
func (r *run) rrPick(d *rrData) *rrPeer {
	now := r.now().Unix()
	var best *rrPeer
	bi, total := -1, 0
	for i, p := range d.peers.peers {
		if d.tried[i] || p.down {
			continue
		}
		if p.maxFails > 0 && p.fails >= p.maxFails && now-p.checked <= p.failTimeout {
			continue
		}
		p.current += p.effective
		total += p.effective
		if p.effective < p.weight {
			p.effective++
		}
		if best == nil || p.current > best.current {
			best, bi = p, i
		}
	}
	if best == nil {
		return nil
	}
	best.current -= total
	d.current = best
	d.tried[bi] = true
	if now-best.checked > best.failTimeout {
		best.checked = now
	}
	return best
}

// rrFree is ngx_http_upstream_free_round_robin_peer.
func (r *run) rrFree(u *ureq, state int) {
	d := u.rr
	pe := d.current
	if pe == nil {
		return
	}
	if d.peers.single {
		pe.conns--
		// A single server never retries by itself: only the cached-connection
		// tries++ in ngx_http_upstream_next gives it a second attempt.
		u.tries = 0
		return
	}
	now := r.now().Unix()
	if state&peerFailed != 0 {
		pe.fails++
		pe.accessed, pe.checked = now, now
		if pe.maxFails > 0 {
			pe.effective -= pe.weight / pe.maxFails
			if pe.fails >= pe.maxFails {
				u.note("upstream server temporarily disabled: " + pe.name)
			}
		}
		if pe.effective < 0 {
			pe.effective = 0
		}
	} else if pe.accessed < pe.checked {
		pe.fails = 0
	}
	pe.conns--
	if u.tries > 0 {
		u.tries--
	}
}

// ---- keepalive cache (ngx_http_upstream_keepalive_module.c and the LNM
// >= 0.10.27 Lua pool) ----

type kaItem struct {
	addr    string
	host    string // Lua pool key part
	conn    *upConn
	savedAt time.Time
	reqSeq  int           // client request during which it was saved
	idle    time.Duration // the idle timer; kaNoLimit = none (nginx < 1.15.3)
}

// kaCache is a per-upstream, per-worker MRU list with LRU eviction.
type kaCache struct {
	max   int
	items []*kaItem // most recently used first
}

func (k *kaCache) closeAll() {
	for _, it := range k.items {
		it.conn.close()
	}
	k.items = nil
}

// take removes and returns the first live entry for addr (and host, for the
// Lua pool). Entries whose idle timer would have fired, or whose connection
// nginx's close handler would have seen closed while idle (an event-loop
// pass happened since: an earlier client request), are dropped first.
func (r *run) kaTake(k *kaCache, addr, host string, useHost bool, seq int) *upConn {
	now := r.now()
	for i := 0; i < len(k.items); i++ {
		it := k.items[i]
		if it.addr != addr || (useHost && it.host != host) {
			continue
		}
		// The idle timer (ngx_add_timer(c->read, keepalive_timeout) in
		// ngx_http_upstream_free_keepalive_peer) fires on an event-loop
		// pass once ngx_current_msec reaches the save time plus the
		// timeout (ngx_event_expire_timers), so a 0 timeout closes the
		// connection before any later request can take it.
		expired := it.idle != kaNoLimit && it.reqSeq < seq && msec(now)-msec(it.savedAt) >= it.idle.Milliseconds()
		stale := it.reqSeq < seq && !peekAlive(it.conn.c)
		if expired || stale {
			it.conn.close()
			k.items = append(k.items[:i], k.items[i+1:]...)
			i--
			continue
		}
		k.items = append(k.items[:i], k.items[i+1:]...)
		return it.conn
	}
	return nil
}

func (k *kaCache) put(it *kaItem) {
	if len(k.items) >= k.max {
		last := k.items[len(k.items)-1]
		last.conn.close()
		k.items = k.items[:len(k.items)-1]
	}
	k.items = append([]*kaItem{it}, k.items...)
}

// kaGet is ngx_http_upstream_get_keepalive_peer: the wrapped balancer first,
// anything but NGX_OK passed up, then a search of the cache by sockaddr. On
// a hit it sets cached=1 and the connection; on a miss it leaves the flag
// alone, which is what made the seed's LNM 0.10.0 loop possible.
func (r *run) kaGet(u *ureq, inner func(*ureq) int) int {
	rc := inner(u)
	if rc != ngxOK {
		return rc
	}
	if c := r.kaTake(r.ka, u.pc.sockaddr, "", false, u.seq); c != nil {
		u.pc.cached = true
		u.pc.conn = c
		return ngxDone
	}
	return ngxOK
}

// kaFree is ngx_http_upstream_free_keepalive_peer.
func (r *run) kaFree(u *ureq, state int, inner func(*ureq, int)) {
	c := u.pc.conn
	why := r.kaInvalid(u, state, c)
	if why == "" {
		r.ka.put(&kaItem{addr: u.pc.sockaddr, conn: c, savedAt: r.now(), reqSeq: u.seq, idle: r.kaTimeout})
		u.pc.conn = nil
		u.note("keepalive: connection saved to the cache")
	} else if c != nil {
		u.note("keepalive: not saved (" + why + ")")
	}
	inner(u, state)
}

func (r *run) kaInvalid(u *ureq, state int, c *upConn) string {
	switch {
	case state&peerFailed != 0:
		return "failed"
	case c == nil:
		return "no connection"
	case c.broken:
		return "connection error"
	case r.kaRequests >= 0 && c.requests >= r.kaRequests:
		// keepalive_requests, since 1.15.3 (d817ceae7): `c->requests >=
		// kp->conf->requests`, so an explicit 0 never keeps a connection
		// (c->requests was incremented when it was used).
		return "keepalive_requests reached"
	case r.kaTime != kaNoLimit && msec(r.now())-msec(c.start) > r.kaTime.Milliseconds():
		// keepalive_time, since 1.19.10 (d9996d6f2): `ngx_current_msec -
		// c->start_time > kp->conf->time`, in whole milliseconds.
		return "keepalive_time exceeded"
	case !u.keepalive:
		return u.keepaliveWhy
	case r.prof.Nginx.AtLeast("1.9.10") && !u.requestBodySent:
		// Early responses are not kept since 1.9.10 (fda7d021c).
		return "request body not sent"
	}
	return ""
}

// msec is t in whole milliseconds, as nginx's ngx_current_msec counts.
func msec(t time.Time) int64 { return t.UnixMilli() }
