// Package gcpolicy sets the garbage collector up for a short-lived lint
// run: ngxlint's binaries call Apply first thing in main.
//
// A check allocates its whole working set once (the parsed tree, the
// model, the findings) and exits; most of what the collector would find
// is still live. So the run starts with collection off below a heap
// budget (384 MiB, or half of the container's or machine's memory when
// that is less), and once the heap first reaches the budget (a very large
// configuration) the collector switches to a relaxed but normal pacing,
// so memory stays bounded on any input. Commands that loop over
// short-lived garbage (emulate) use ApplyRelaxed instead. GOGC or
// GOMEMLIMIT in the environment win over this policy.
package gcpolicy
