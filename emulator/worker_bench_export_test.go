package emulator

import (
	"context"
	"errors"
)

// StartWorkerOnly runs cfg's worker start-up (init_by_lua*,
// init_worker_by_lua*, the timers due at once) and nothing else, for
// BenchmarkAppWorkerStart in the external test package, which builds its
// configuration with fromconf (an import the internal tests cannot have).
func StartWorkerOnly(ctx context.Context, cfg Config) (*WorkerResult, error) {
	r, err := newRun(ctx, cfg)
	if err != nil {
		return nil, err
	}
	defer r.shutdown()
	if r.lua == nil {
		return nil, errors.New("no Lua code to start")
	}
	return r.lua.startWorker(ctx)
}
