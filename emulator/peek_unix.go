//go:build unix

package emulator

import (
	"errors"
	"net"
	"syscall"
)

// peekSocket reports whether an idle pooled connection is still usable, the
// way the keepalive module's close handler decides: recv(MSG_PEEK) returning
// 0 (EOF), data or an error means the connection is dropped from the cache;
// EAGAIN means it is still idle and open.
func peekSocket(c net.Conn) bool {
	tc, ok := c.(*net.TCPConn)
	if !ok {
		return true
	}
	rc, err := tc.SyscallConn()
	if err != nil {
		return false
	}
	alive := false
	buf := make([]byte, 1)
	err = rc.Read(func(fd uintptr) bool {
		_, _, rerr := syscall.Recvfrom(int(fd), buf, syscall.MSG_PEEK|syscall.MSG_DONTWAIT)
		alive = errors.Is(rerr, syscall.EAGAIN) || errors.Is(rerr, syscall.EWOULDBLOCK)
		return true
	})
	return err == nil && alive
}
