package nginxengine

import (
	"context"
	"encoding/binary"
	"net"
	"strings"
	"sync"
)

// dnsStub is the resolver of a run whose proxy_pass hosts the requests
// choose (Scenario.RequestHosts): a UDP server on 127.0.0.1 that records
// every name nginx asks for and answers each query NXDOMAIN. It never
// forwards a query and never gives an address, so a name a request puts
// into proxy_pass makes nginx ask (the evidence that it would connect to
// that host) and then fail with "could not be resolved", without any
// connection. See the containment argument in contain.go
// (requestHostVar).
type dnsStub struct {
	conn  net.PacketConn
	mu    sync.Mutex
	names []string
	done  chan struct{}
}

func startDNSStub(ctx context.Context) (*dnsStub, error) {
	var lc net.ListenConfig
	c, err := lc.ListenPacket(ctx, "udp4", "127.0.0.1:0")
	if err != nil {
		return nil, err
	}
	s := &dnsStub{conn: c, done: make(chan struct{})}
	go s.serve()
	return s, nil
}

func (s *dnsStub) addr() string { return s.conn.LocalAddr().String() }

func (s *dnsStub) close() {
	s.conn.Close()
	<-s.done
}

// len and since give the names asked, in order, per request.
func (s *dnsStub) len() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return len(s.names)
}

func (s *dnsStub) since(n int) []string {
	s.mu.Lock()
	defer s.mu.Unlock()
	var out []string
	seen := map[string]bool{}
	for _, x := range s.names[n:] {
		if !seen[x] {
			seen[x] = true
			out = append(out, x)
		}
	}
	return out
}

func (s *dnsStub) serve() {
	defer close(s.done)
	buf := make([]byte, 1500)
	for {
		n, from, err := s.conn.ReadFrom(buf)
		if err != nil {
			return
		}
		name, qend, ok := parseQuery(buf[:n])
		if !ok {
			continue
		}
		s.mu.Lock()
		s.names = append(s.names, name)
		s.mu.Unlock()
		// The reply is the query's header and question with QR set, RA
		// set and RCODE 3 (NXDOMAIN), no answer records (RFC 1035 4.1.1).
		resp := append([]byte(nil), buf[:qend]...)
		resp[2] |= 0x80
		resp[3] = 0x80 | 3
		binary.BigEndian.PutUint16(resp[4:], 1)
		for i := 6; i < 12; i++ {
			resp[i] = 0
		}
		_, _ = s.conn.WriteTo(resp, from)
	}
}

// parseQuery reads the first question of a DNS query: its name in
// lower case and where the question ends.
func parseQuery(b []byte) (string, int, bool) {
	if len(b) < 12 || b[2]&0x80 != 0 || binary.BigEndian.Uint16(b[4:]) == 0 {
		return "", 0, false
	}
	var labels []string
	i := 12
	for {
		if i >= len(b) {
			return "", 0, false
		}
		l := int(b[i])
		i++
		if l == 0 {
			break
		}
		if l&0xc0 != 0 || i+l > len(b) {
			return "", 0, false
		}
		labels = append(labels, string(b[i:i+l]))
		i += l
	}
	if i+4 > len(b) {
		return "", 0, false
	}
	return strings.ToLower(strings.Join(labels, ".")), i + 4, true
}
