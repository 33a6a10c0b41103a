//go:build unix

package main

import (
	"os"
	"syscall"
)

// hardLinks is the file's link count.
func hardLinks(st os.FileInfo) uint64 {
	if s, ok := st.Sys().(*syscall.Stat_t); ok {
		return uint64(s.Nlink)
	}
	return 1
}

// keepOwner gives path the owner and group of like when they differ from
// what the new file got (only root can, and only root needs to: a file
// created by its owner already belongs to it).
func keepOwner(path string, like os.FileInfo) error {
	want, ok := like.Sys().(*syscall.Stat_t)
	if !ok {
		return nil
	}
	got, err := os.Stat(path)
	if err != nil {
		return err
	}
	if g, ok := got.Sys().(*syscall.Stat_t); ok && g.Uid == want.Uid && g.Gid == want.Gid {
		return nil
	}
	return os.Lchown(path, int(want.Uid), int(want.Gid))
}

// ownerOf returns the file's uid and gid.
func ownerOf(st os.FileInfo) (uid, gid uint32, ok bool) {
	s, ok := st.Sys().(*syscall.Stat_t)
	if !ok {
		return 0, 0, false
	}
	return s.Uid, s.Gid, true
}
