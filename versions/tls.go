package versions

// WeakTLSDefaultUntil is the first nginx version whose default
// ssl_protocols leaves out TLSv1 and TLSv1.1 (nginx changes 1.27.3,
// 2024-11-26: "now TLSv1 and TLSv1.1 protocols are disabled by default").
// Before it, a server that never writes ssl_protocols accepts them, unless
// the OpenSSL build refuses them (OpenSSL 3 at its default security
// level does).
const WeakTLSDefaultUntil = "1.27.3"

// DefaultEnablesWeakTLS reports whether nginx v's default ssl_protocols
// includes TLSv1 and TLSv1.1.
func DefaultEnablesWeakTLS(v Version) bool { return v.Less(WeakTLSDefaultUntil) }
