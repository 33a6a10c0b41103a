package nginxengine

import "syscall"

// setParentDeath asks Linux to SIGKILL the child if the thread that started
// it dies, a safety net for a test binary killed outright, where no deferred
// kill runs. The deferred process-group kill stays the normal path.
func setParentDeath(a *syscall.SysProcAttr) { a.Pdeathsig = syscall.SIGKILL }
