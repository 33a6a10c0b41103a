package rules

import (
	"github.com/ngxlint/ngxlint/analyzer"
)

// all lists every rule in documentation order. Adding a rule: one line here.
func all() []*analyzer.Rule {
	return append([]*analyzer.Rule{
		LuaFileMissing,
		LuaBalancerKeepaliveLoop,
		KeepaliveNotEffective,
		SetMoreTriesUnbounded,
		RetryAmplification,
		NonIdempotentResend,
		NextUpstreamOffIgnored,
		NextUpstreamNoEffect,
		NextUpstreamMasksResponse,
		LuaSyntaxError,
		LuaUndefinedGlobal,
		LuaGlobalWrite,
		LuaUnknownNgxField,
		LuaUnusedVariable,
		LuaUnusedValue,
		LuaShadowing,
		LuaUnreachableCode,
		LuaAPIWrongPhase,
		LuaAPITooNew,
		LuaBalancerAPIOutsideBalancer,
		LuaBalancerPeerUnchecked,
		LuaBalancerHostLiteral,
		LuaBalancerNoPeerPath,
		ImplausibleTimeout,
		LuaBalancerTimeoutsUnit,
		LuaBalancerTwoPools,
		DeadContentHandler,
		KeepaliveConnectionMap,
		KeepaliveVariablePass,
		HTTPSplitting,
		HostSpoofing,
		SSRF,
		AliasTraversal,
		ProxyPassURI,
		OriginRegex,
		RegexReDoS,
	}, versionRules()...)
}

// Registry returns the registry of every rule. It is built on each call
// (cheap) so no package-level mutable state exists.
func Registry() *analyzer.Registry {
	r, err := analyzer.NewRegistry(all()...)
	if err != nil {
		panic(err) // a duplicate ID is a programming error caught by every test
	}
	return r
}
