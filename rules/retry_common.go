package rules

import (
	"fmt"
	"strconv"
	"strings"

	"github.com/ngxlint/ngxlint/analyzer"
	"github.com/ngxlint/ngxlint/emulator"
	"github.com/ngxlint/ngxlint/luacheck"
	"github.com/ngxlint/ngxlint/nginxconf"
	"github.com/ngxlint/ngxlint/rules/retry"
)

// proxiedLocation is a location whose proxy_pass names an upstream block.
type proxiedLocation struct {
	loc *nginxconf.Location
	up  *nginxconf.Upstream
}

// passProxiedLocations is proxiedLocations of the pass's model, listed
// once per run for the rules that all walk it.
func passProxiedLocations(pass *analyzer.Pass) []proxiedLocation {
	type key struct{}
	return pass.Fact(key{}, func() any { return proxiedLocations(pass.Model) }).([]proxiedLocation)
}

// proxiedLocations lists every location proxying to an upstream block, in
// nginx order.
func proxiedLocations(m *nginxconf.Model) []proxiedLocation {
	if m == nil || m.HTTP == nil {
		return nil
	}
	var out []proxiedLocation
	for _, s := range m.HTTP.Servers {
		for _, l := range s.AllLocations {
			if pp := l.Proxy.Pass; pp != nil && pp.Upstream != nil {
				out = append(out, proxiedLocation{l, pp.Upstream})
			}
		}
	}
	return out
}

// retryPrediction is the retry model of a location, computed once per run.
func retryPrediction(pass *analyzer.Pass, u *nginxconf.Upstream, l *nginxconf.Location) retry.Prediction {
	type key struct {
		u *nginxconf.Upstream
		l *nginxconf.Location
	}
	type settings struct{ key string }
	return pass.Fact(key{u, l}, func() any {
		in := retryInput(pass, u, l)
		return pass.Fact(settings{in.SettingsKey()}, func() any { return retry.Predict(in) })
	}).(retry.Prediction)
}

func retryInput(pass *analyzer.Pass, u *nginxconf.Upstream, l *nginxconf.Location) retry.Input {
	var bal *luacheck.Result
	if b := u.Balancer; b != nil && b.Lua != nil && b.Lua.LoadError == "" {
		bal = luaFactsLinked(pass, b.Lua) // set_more_tries in a module counts
	}
	return retry.FromModel(pass.Profile, u, l, bal)
}

// retryThresholdSetting is declared by retry-amplification (default 3);
// the value was validated (analyzer.PositiveInt) before the run.
const retryThresholdSetting = "retry-threshold"

// retryThreshold is the "retry-threshold" setting.
func retryThreshold(pass *analyzer.Pass) int {
	if v, ok := pass.Settings[retryThresholdSetting]; ok {
		if n, err := strconv.Atoi(strings.TrimSpace(v)); err == nil && n > 0 {
			return n
		}
	}
	return 3
}

// attemptsJudge confirms a predicted attempt count: the emulator's
// request made exactly that many attempts (or was unbounded when the
// prediction is).
func attemptsJudge(p retry.Prediction, reqIndex int) func(*emulator.Result) (bool, string) {
	return func(r *emulator.Result) (bool, string) {
		if reqIndex >= len(r.Requests) {
			return false, r.Summary()
		}
		q := r.Requests[reqIndex]
		got := fmt.Sprintf("1 client request made %s and opened %s", plural(len(q.Attempts), "upstream attempt"), plural(q.UpstreamConnections, "connection"))
		if q.Unbounded {
			got += " (unbounded, capped)"
		}
		if p.Unbounded {
			return q.Unbounded, got
		}
		return !q.Unbounded && len(q.Attempts) == p.Attempts, got + fmt.Sprintf("; the model predicted %d", p.Attempts)
	}
}
