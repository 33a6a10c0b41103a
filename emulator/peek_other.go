//go:build !unix

package emulator

import "net"

// peekSocket cannot look at the socket without blocking on this platform, so
// an idle pooled connection is assumed open; a stale one then shows up as
// an FT_ERROR on the cached connection, as in nginx's idle-close race.
func peekSocket(net.Conn) bool { return true }
