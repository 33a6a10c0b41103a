package rules

import "github.com/ngxlint/ngxlint/analyzer"

// versionRules lists the known-bug advisor's rules (VER1xxx, issue 6), in
// the order of the knowledge file's sections 1 and 2. Three entries are
// rules of their own elsewhere and are not repeated here: the seed bug
// LNM-CACHED-HOTLOOP is NGX2001 lua-balancer-keepalive-loop, NGX-TEST-NEXT
// is NGX2105 next-upstream-masks-response, and the "proxy_next_upstream
// off" case of NGX-CACHED-BYPASS is NGX2103 next-upstream-off-ignored.
func versionRules() []*analyzer.Rule {
	var out []*analyzer.Rule
	for _, v := range versionBugs() {
		out = append(out, v.rule)
	}
	return out
}

// verRule ties a VER rule to its version gate.
type verRule struct {
	rule *analyzer.Rule
	bug  verBug
}

// versionBugs returns every VER rule with its gate; Upgrade reads the gate
// to tell behaviour changes from bugs.
func versionBugs() []verRule {
	return []verRule{
		{VerLNMSSLCrash, bugLNMSSLCrash},
		{VerLNMNoSSLSessionReuse, bugLNMNoSSLSessionReuse},
		{VerLNMUpstreamAddrStale, bugLNMUpstreamAddrStale},
		{VerLNMCodeCacheOff, bugLNMCodeCacheOff},
		{VerLNMExitFFI, bugLNMExitFFI},
		{VerLNMMoreTriesZeroLimit, bugLNMMoreTriesZeroLimit},
		{VerLNMMoreTriesWrap, bugLNMMoreTriesWrap},
		{VerLNMExitStatus, bugLNMExitStatus},
		{VerLNMRecreateBody, bugLNMRecreateBody},
		{VerLNMPoolRetry, bugLNMPoolRetry},
		{VerORNotifyStale502, bugORNotifyStale502},
		{VerLNMKAHostGT32, bugLNMKAHostGT32},
		{VerLNMKeepaliveOrder, bugLNMKeepaliveOrder},
		{VerLNMNoPeerSetGlobal, bugLNMNoPeerSetGlobal},
		{VerLNMKATimeout0, bugLNMKATimeout0},
		{VerNGXCachedBypass, bugNGXCachedBypass},
		{VerNGXNonIdempotent, bugNGXNonIdempotent},
		{VerNGXKAEarlyResp, bugNGXKAEarlyResp},
		{VerNGXQuickRecovery, bugNGXQuickRecovery},
		{VerNGXDownTries, bugNGXDownTries},
		{VerNGXKAExtraData, bugNGXKAExtraData},
		{VerNGXReinitBadResp, bugNGXReinitBadResp},
		{VerNGXKADefaults, bugNGXKADefaults},
		{VerNGXKAOnByDefault, bugNGXKAOnByDefault},
		{VerSLUALogByNotInherited, bugSLUALogByNotInherited},
		{VerNGXSSLPrereadSkipsLua, bugNGXSSLPrereadSkipsLua},
	}
}

// verBugOf returns the version gate of a VER rule.
func verBugOf(id string) (verBug, bool) {
	for _, v := range versionBugs() {
		if v.rule.ID == id {
			return v.bug, true
		}
	}
	return verBug{}, false
}
