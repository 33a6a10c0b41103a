//go:build !linux

package nginxengine

import "errors"

// Outside Linux there is no child subreaper: a process that leaves
// nginx's process group is reparented to init and cannot be attributed to
// the run; the group kill is all there is.
func setSubreaper() (bool, error) {
	return false, errors.New("no child subreaper outside Linux")
}

func clearSubreaper() {}

func killEscapedOnce(map[int]bool) int { return 0 }
