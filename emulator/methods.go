package emulator

import (
	"encoding/binary"
	"fmt"
	"hash/crc32"
	"math/rand/v2"
	"net"
	"sort"
	"strconv"
	"strings"

	"github.com/ngxlint/ngxlint/versions"
)

// The balancing methods besides round robin, each after its nginx module
// at release-1.22.1 (src/http/modules/ngx_http_upstream_*_module.c). All of
// them build on the round-robin peers (ngx_http_upstream_init_round_robin)
// and share its per-request data, its free function and its failure
// accounting; only the get function differs. Up to 1.29.x none of them
// changed in a way the emulator observes.

// Balancing methods (Upstream.Method).
const (
	methodRR = iota
	methodHash
	methodCHash
	methodIPHash
	methodLeastConn
	methodRandom
	methodRandom2
)

// balancing is the parsed method directive of one upstream.
type balancing struct {
	kind int
	// key is the hash key as written (a complex value: literal text and
	// $variables).
	key string
	// points are the consistent-hash points, sorted and de-duplicated
	// (ngx_http_upstream_init_chash).
	points []ngxChashPoint
	// ranges are the random module's cumulative weights
	// (ngx_http_upstream_update_random).
	ranges []int
	// rng stands in for ngx_random() (libc random(), seeded per worker
	// from its pid and start time): the emulator's draws are reproducible
	// from Config.RandomSeed, nginx's are not, so the random method agrees
	// with nginx only where the outcome does not depend on the draws (one
	// eligible peer).
	rng *rand.Rand
}

type ngxChashPoint struct {
	hash   uint32
	server string
}

// parseMethod checks the method directive as ngx_http_upstream_hash,
// _ip_hash, _least_conn and _random do, and precomputes what their
// init_upstream functions compute.
func parseMethod(up Upstream, peers *rrPeers, seed uint64) (*balancing, error) {
	b := &balancing{}
	args := up.MethodArgs
	switch up.Method {
	case "":
		b.kind = methodRR
	case "hash":
		// ngx_http_upstream_hash: one key, optionally "consistent".
		switch {
		case len(args) == 1:
			b.kind = methodHash
		case len(args) == 2 && args[1] == "consistent":
			b.kind = methodCHash
		default:
			return nil, fmt.Errorf("hash: want a key and optionally \"consistent\", got %q", strings.Join(args, " "))
		}
		b.key = args[0]
	case "ip_hash", "least_conn":
		if len(args) != 0 {
			return nil, fmt.Errorf("%s takes no arguments", up.Method)
		}
		b.kind = methodIPHash
		if up.Method == "least_conn" {
			b.kind = methodLeastConn
		}
	case "random":
		// ngx_http_upstream_random: [two [least_conn]].
		switch {
		case len(args) == 0:
			b.kind = methodRandom
		case args[0] == "two" && (len(args) == 1 || len(args) == 2 && args[1] == "least_conn"):
			b.kind = methodRandom2
		default:
			return nil, fmt.Errorf("random: invalid parameter %q", strings.Join(args, " "))
		}
		b.rng = rand.New(rand.NewPCG(seed, seed^0x9e3779b97f4a7c15))
	default:
		return nil, fmt.Errorf("load-balancing method %q is not emulated", up.Method)
	}
	switch b.kind {
	case methodCHash:
		b.points = ngxChashPoints(peers)
	case methodRandom, methodRandom2:
		total := 0
		for _, p := range peers.peers {
			b.ranges = append(b.ranges, total)
			total += p.weight
		}
	}
	return b, nil
}

// ngxChashPoints is ngx_http_upstream_init_chash: weight*160 points per
// primary server, each crc32(HOST "\0" PORT PREV_HASH) with the server as
// written (peer->server), PREV_HASH the previous point's hash in
// little-endian bytes; sorted, equal hashes kept once.
func ngxChashPoints(peers *rrPeers) []ngxChashPoint {
	var pts []ngxChashPoint
	for _, p := range peers.peers {
		host, port := chashHostPort(p.name)
		base := host + "\x00" + port
		var prev [4]byte
		for j := 0; j < p.weight*160; j++ {
			h := crc32.ChecksumIEEE(append([]byte(base), prev[:]...))
			pts = append(pts, ngxChashPoint{hash: h, server: p.name})
			binary.LittleEndian.PutUint32(prev[:], h)
		}
	}
	// ngx_qsort is not stable, but points with equal hashes are collapsed
	// to the first anyway; a stable sort keeps the emulator reproducible.
	sort.SliceStable(pts, func(i, j int) bool { return pts[i].hash < pts[j].hash })
	out := pts[:0]
	for i, p := range pts {
		if i == 0 || p.hash != out[len(out)-1].hash {
			out = append(out, p)
		}
	}
	return out
}

// chashHostPort splits a server name the way ngx_http_upstream_init_chash
// does: "unix:" paths have no port; otherwise the digits after the last
// ':' are the port when everything after it is a digit.
func chashHostPort(server string) (host, port string) {
	if len(server) >= 5 && strings.EqualFold(server[:5], "unix:") {
		return server[5:], ""
	}
	for j := 0; j < len(server); j++ {
		c := server[len(server)-j-1]
		if c == ':' {
			return server[:len(server)-j-1], server[len(server)-j:]
		}
		if c < '0' || c > '9' {
			break
		}
	}
	return server, ""
}

// methodData is the per-request state of hash (hp->tries, rehash, hash),
// ip_hash (iphp->tries, hash, addr) and random (rp->tries).
type methodData struct {
	tries  int
	rehash uint64
	hash   uint64
	key    string
	addr   []byte
}

// initMethodPeer is the method's init_peer after
// ngx_http_upstream_init_round_robin_peer: it evaluates the hash key
// (ngx_http_upstream_init_hash_peer), finds the consistent-hash start point
// (ngx_http_upstream_init_chash_peer) or takes the client address
// (ngx_http_upstream_init_ip_hash_peer).
func (r *run) initMethodPeer(u *ureq) {
	m := &u.rr.m
	switch r.bal.kind {
	case methodHash, methodCHash:
		m.key = r.complexValue(u, r.bal.key)
		if r.bal.kind == methodCHash {
			h := crc32.ChecksumIEEE([]byte(m.key))
			// ngx_http_upstream_find_chash_point: the first point >= hash
			// (binary search; may be len(points), taken modulo below).
			m.hash = uint64(sort.Search(len(r.bal.points), func(i int) bool { return r.bal.points[i].hash >= h }))
		}
	case methodIPHash:
		// The first three bytes of an IPv4 address, all sixteen of an IPv6
		// one; iphp->hash starts at 89.
		m.addr = clientAddrBytes(u.remoteAddr())
		m.hash = 89
	}
}

// clientAddrBytes is what ip_hash hashes: sin_addr's first 3 bytes, or
// sin6_addr's 16 (an IPv4-mapped IPv6 address counts as IPv6, as it does on
// an AF_INET6 socket).
func clientAddrBytes(addr string) []byte {
	ip := net.ParseIP(addr)
	if ip == nil {
		// ngx_http_upstream_ip_hash_pseudo_addr: three zero bytes for a
		// unix-socket client.
		return []byte{0, 0, 0}
	}
	if v4 := ip.To4(); v4 != nil && !strings.Contains(addr, ":") {
		return v4[:3]
	}
	return ip.To16()
}

// complexValue evaluates a value with $variables as nginx's complex values
// do; an unknown or unset variable is empty.
func (r *run) complexValue(u *ureq, s string) string {
	var b strings.Builder
	for i := 0; i < len(s); i++ {
		if s[i] != '$' {
			b.WriteByte(s[i])
			continue
		}
		j := i + 1
		braced := j < len(s) && s[j] == '{'
		if braced {
			j++
		}
		k := j
		for k < len(s) && (s[k] == '_' || s[k] >= 'a' && s[k] <= 'z' || s[k] >= 'A' && s[k] <= 'Z' || s[k] >= '0' && s[k] <= '9') {
			k++
		}
		v, _ := r.variable(u, strings.ToLower(s[j:k]))
		b.WriteString(v)
		if braced && k < len(s) && s[k] == '}' {
			k++
		}
		i = k - 1
	}
	return b.String()
}

// methodGet is the upstream's peer.get without Lua: the method's get, each
// falling back to ngx_http_upstream_get_round_robin_peer as nginx's does.
func (r *run) methodGet(u *ureq) int {
	switch r.bal.kind {
	case methodHash:
		return r.hashGet(u)
	case methodCHash:
		return r.chashGet(u)
	case methodIPHash:
		return r.ipHashGet(u)
	case methodLeastConn:
		return r.leastConnGet(u)
	case methodRandom, methodRandom2:
		return r.randomGet(u)
	}
	return r.rrGet(u)
}

// eligible is the test every method applies to a candidate peer: not
// tried by this request, not down, not failed max_fails times within
// fail_timeout (in seconds, ngx_time()). max_conns is not modelled: the
// emulator has one request in flight at a time.
func (r *run) eligible(d *rrData, i int, now int64) bool {
	p := d.peers.peers[i]
	if d.tried[i] || p.down {
		return false
	}
	return !(p.maxFails > 0 && p.fails >= p.maxFails && now-p.checked <= p.failTimeout)
}

// pick makes peer i of the current level this request's peer, as every
// method's success path does.
func (r *run) pick(u *ureq, i int, now int64) int {
	d := u.rr
	p := d.peers.peers[i]
	d.current = p
	d.tried[i] = true
	if now-p.checked > p.failTimeout {
		p.checked = now
	}
	p.conns++
	u.pc.sockaddr, u.pc.name = p.addr, p.name
	return ngxOK
}

// hashGet is ngx_http_upstream_get_hash_peer: ((crc32([REHASH] KEY) >> 16)
// & 0x7fff) added to the previous hash, modulo the total weight, walked
// over the servers by weight; a tried, down or failed pick rehashes, and
// after 20 of them round robin takes over.
func (r *run) hashGet(u *ureq) int {
	d, m := u.rr, &u.rr.m
	if m.tries > versions.BalancerRetryLimit || d.peers.single || m.key == "" {
		return r.rrGet(u)
	}
	u.pc.cached, u.pc.conn = false, nil
	now := r.now().Unix()
	for {
		var buf []byte
		if m.rehash > 0 {
			buf = strconv.AppendUint(buf, m.rehash, 10)
		}
		buf = append(buf, m.key...)
		h := (crc32.ChecksumIEEE(buf) >> 16) & 0x7fff
		// hp->hash is a uint32_t.
		m.hash = uint64(uint32(m.hash) + h)
		m.rehash++
		w := int(m.hash % uint64(d.peers.totalWeight))
		i := 0
		for w >= d.peers.peers[i].weight {
			w -= d.peers.peers[i].weight
			i++
		}
		if r.eligible(d, i, now) {
			return r.pick(u, i, now)
		}
		m.tries++
		if m.tries > versions.BalancerRetryLimit {
			return r.rrGet(u)
		}
	}
}

// chashGet is ngx_http_upstream_get_chash_peer: the server of the point
// at hp->hash; among the eligible peers with that server name the smooth
// weighted choice; none eligible moves to the next point, and after 20
// moves round robin takes over.
func (r *run) chashGet(u *ureq) int {
	d, m := u.rr, &u.rr.m
	if m.tries > versions.BalancerRetryLimit || d.peers.single || m.key == "" {
		return r.rrGet(u)
	}
	u.pc.cached, u.pc.conn = false, nil
	now := r.now().Unix()
	pts := r.bal.points
	for {
		server := pts[m.hash%uint64(len(pts))].server
		best, total := -1, 0
		for i, p := range d.peers.peers {
			if !r.eligible(d, i, now) || p.name != server {
				continue
			}
			p.current += p.effective
			total += p.effective
			if p.effective < p.weight {
				p.effective++
			}
			if best < 0 || p.current > d.peers.peers[best].current {
				best = i
			}
		}
		if best >= 0 {
			d.peers.peers[best].current -= total
			return r.pick(u, best, now)
		}
		m.hash++
		m.tries++
		if m.tries > versions.BalancerRetryLimit {
			return r.rrGet(u)
		}
	}
}

// ipHashGet is ngx_http_upstream_get_ip_hash_peer: hash = (hash * 113 +
// byte) % 6271 over the address bytes, once per pick, modulo the total
// weight; the hash is kept only for a successful pick, and after 20 failed
// picks round robin takes over.
func (r *run) ipHashGet(u *ureq) int {
	d, m := u.rr, &u.rr.m
	if m.tries > versions.BalancerRetryLimit || d.peers.single {
		return r.rrGet(u)
	}
	u.pc.cached, u.pc.conn = false, nil
	now := r.now().Unix()
	hash := m.hash
	for {
		for _, c := range m.addr {
			hash = (hash*113 + uint64(c)) % 6271
		}
		w := int(hash % uint64(d.peers.totalWeight))
		i := 0
		for w >= d.peers.peers[i].weight {
			w -= d.peers.peers[i].weight
			i++
		}
		if r.eligible(d, i, now) {
			m.hash = hash
			return r.pick(u, i, now)
		}
		m.tries++
		if m.tries > versions.BalancerRetryLimit {
			return r.rrGet(u)
		}
	}
}

// leastConnGet is ngx_http_upstream_get_least_conn_peer: the eligible peer
// with the fewest connections relative to its weight (conns * weight
// compared crosswise); several such peers are chosen among by smooth
// weighted round robin, starting from the first of them; none eligible
// switches to the backup servers, then NGX_BUSY.
func (r *run) leastConnGet(u *ureq) int {
	d := u.rr
	if d.peers.single {
		return r.rrGet(u)
	}
	u.pc.cached, u.pc.conn = false, nil
	now := r.now().Unix()
	peers := d.peers.peers
	best, many := -1, false
	for i, p := range peers {
		if !r.eligible(d, i, now) {
			continue
		}
		switch {
		case best < 0 || p.conns*peers[best].weight < peers[best].conns*p.weight:
			best, many = i, false
		case p.conns*peers[best].weight == peers[best].conns*p.weight:
			many = true
		}
	}
	if best < 0 {
		if next := d.peers.next; next != nil {
			d.peers = next
			d.tried = make([]bool, len(next.peers))
			return r.leastConnGet(u)
		}
		return ngxBusy
	}
	total := 0
	if many {
		first := peers[best]
		for i := best; i < len(peers); i++ {
			p := peers[i]
			if !r.eligible(d, i, now) || p.conns*first.weight != first.conns*p.weight {
				continue
			}
			p.current += p.effective
			total += p.effective
			if p.effective < p.weight {
				p.effective++
			}
			if p.current > peers[best].current {
				best = i
			}
		}
	}
	peers[best].current -= total
	return r.pick(u, best, now)
}

// randomGet is ngx_http_upstream_get_random_peer and, for `random two`,
// ngx_http_upstream_get_random2_peer: a peer drawn by weight (the second
// of two distinct eligible draws unless it has more connections per weight
// than the first); a tried, down or failed draw counts, and after 20 of
// them round robin takes over.
func (r *run) randomGet(u *ureq) int {
	d, m := u.rr, &u.rr.m
	if m.tries > versions.BalancerRetryLimit || d.peers.single {
		return r.rrGet(u)
	}
	u.pc.cached, u.pc.conn = false, nil
	now := r.now().Unix()
	prev := -1
	for {
		i := r.peekRandom(d.peers)
		if r.eligible(d, i, now) && i != prev {
			if r.bal.kind == methodRandom {
				return r.pick(u, i, now)
			}
			if prev >= 0 {
				p, q := d.peers.peers[i], d.peers.peers[prev]
				if p.conns*q.weight > q.conns*p.weight {
					i = prev
				}
				return r.pick(u, i, now)
			}
			prev = i
		}
		m.tries++
		if m.tries > versions.BalancerRetryLimit {
			return r.rrGet(u)
		}
	}
}

// peekRandom is ngx_http_upstream_peek_random_peer: a draw modulo the total
// weight, located in the cumulative ranges by binary search.
func (r *run) peekRandom(peers *rrPeers) int {
	x := r.bal.rng.IntN(peers.totalWeight)
	i, j := 0, len(r.bal.ranges)
	for j-i > 1 {
		k := (i + j) / 2
		if x < r.bal.ranges[k] {
			j = k
		} else {
			i = k
		}
	}
	return i
}
