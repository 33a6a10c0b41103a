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
		UnknownVariable,
		DirectiveUnknown,
		DirectiveContext,
		DirectiveArgs,
		DirectiveValue,
		DirectiveDuplicate,
		DirectiveVersion,
	}, append(secRules(), versionRules()...)...)
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

// secRules lists the security rule pack (issue 21): SEC1xxx hardening and
// header inheritance, SEC3xxx nginx CVEs by declared version.
func secRules() []*analyzer.Rule {
	return append([]*analyzer.Rule{
		AddHeaderRedefinition,
		ArrayDirectiveDropped,
		AddHeaderMultiline,
		AddHeaderContentType,
		ServerTokens,
		AllowWithoutDeny,
		IfIsEvil,
		ErrorLogOff,
		DefaultServerMissing,
		MapWithoutDefault,
		ResolverMissing,
		StaleDNS,
		WeakTLSProtocols,
		WeakCiphers,
		StaplingWithoutResolver,
		WorkerRlimitNofile,
		HTTPSplitting,
		HostSpoofing,
		SSRF,
		AliasTraversal,
		ProxyPassURI,
		OriginRegex,
		RegexReDoS,
		ReturnBypassesAccess,
		FilesystemRoot,
		StatusPageExposed,
		ResolverExternal,
		CaptureUndefined,
	}, cveRules()...)
}
