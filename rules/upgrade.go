package rules

// Upgrade compares a configuration's findings on two version profiles
// (`ngxlint check --upgrade-to VERSION`): which findings appear, disappear
// or are behaviour changes, each confirmed by emulating the finding's
// scenario on both profiles.

import (
	"bytes"
	"cmp"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"runtime"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/ngxlint/ngxlint/analyzer"
	"github.com/ngxlint/ngxlint/emulator"
	"github.com/ngxlint/ngxlint/emulator/fromconf"
	"github.com/ngxlint/ngxlint/nginxconf"
	"github.com/ngxlint/ngxlint/versions"
)

// Kinds of upgrade change.
const (
	// Appears: the finding exists on the target profile only (a bug the
	// upgrade introduces).
	Appears = "appears"
	// Disappears: the finding exists on the current profile only (a bug the
	// upgrade fixes).
	Disappears = "disappears"
	// ChangesBehaviour: a behaviour-change rule (VER rules with a change
	// version, e.g. NGX-KA-ON-BY-DEFAULT) whose version the upgrade crosses.
	ChangesBehaviour = "changes-behaviour"
)

// UpgradeOptions tune Upgrade.
type UpgradeOptions struct {
	// Rules to run; nil means every rule of Registry().
	Rules []*analyzer.Rule
	// Settings are rule settings, as for analyzer.Options.
	Settings map[string]string
	// NoConfirm skips the emulator: changes get confirmation "not-run".
	NoConfirm bool
	// Parallel bounds concurrent emulations (default 2 x GOMAXPROCS).
	Parallel int
}

// UpgradeSide is a change seen from one profile.
type UpgradeSide struct {
	Profile string `json:"profile"`
	// Fires reports whether the rule reports the finding on this profile.
	Fires    bool   `json:"fires"`
	Severity string `json:"severity,omitempty"`
	Message  string `json:"message,omitempty"`
	// ShowsEffect is the emulated observation judged against the rule's
	// prediction: true when the effect the rule describes was observed on
	// this profile; nil when no judge applies (only the observation is
	// compared).
	ShowsEffect *bool          `json:"shows_effect,omitempty"`
	Observation string         `json:"observation,omitempty"`
	Observed    map[string]any `json:"observed,omitempty"`
	Error       string         `json:"error,omitempty"`
}

// UpgradeChange is one finding that differs between the profiles.
type UpgradeChange struct {
	Kind     string        `json:"kind"`
	Rule     string        `json:"rule"`
	Slug     string        `json:"slug"`
	Title    string        `json:"title"`
	Position string        `json:"position"`
	Pos      nginxconf.Pos `json:"-"`
	Fixed    string        `json:"fixed,omitempty"`
	// Confirmation is analyzer.Confirmed when the emulator observed the
	// predicted difference between the two profiles, NotReproduced when
	// it did not, NotConfirmable (Reason says why), ConfirmError or NotRun.
	Confirmation string      `json:"confirmation"`
	Reason       string      `json:"reason,omitempty"`
	From         UpgradeSide `json:"from"`
	To           UpgradeSide `json:"to"`
}

// UpgradeFinding is a finding present on both profiles.
type UpgradeFinding struct {
	Rule     string `json:"rule"`
	Slug     string `json:"slug"`
	Position string `json:"position"`
	Message  string `json:"message"`
}

// UpgradeReport is the outcome of Upgrade.
type UpgradeReport struct {
	From      string           `json:"from"`
	To        string           `json:"to"`
	Assumed   []string         `json:"assumed,omitempty"`
	Changes   []UpgradeChange  `json:"changes"`
	Unchanged []UpgradeFinding `json:"unchanged"`
	// RuleErrors are internal failures of rules on either profile.
	RuleErrors []string `json:"rule_errors,omitempty"`
}

// Upgrade runs the rules under both profiles and classifies the findings
// that differ. Unless opts.NoConfirm, each change is emulated on both
// profiles: VER rules run their own scenario and judge on each side;
// other rules confirm on the side that reports them and the same
// configuration, backend policy and requests are replayed on the other
// side, and the change is confirmed when the observations differ.
func Upgrade(ctx context.Context, cfg *nginxconf.Config, model *nginxconf.Model, from, to versions.Profile, opts UpgradeOptions) (*UpgradeReport, error) {
	if cfg == nil || model == nil {
		return nil, fmt.Errorf("upgrade: no configuration")
	}
	if !from.HasNginx() && !from.HasLNM() && !from.IsOpenResty() {
		return nil, fmt.Errorf("upgrade: the current version is unknown; declare it (--openresty-version, or --nginx-version and --lua-nginx-module-version)")
	}
	if !to.HasNginx() && !to.HasLNM() && !to.IsOpenResty() {
		return nil, fmt.Errorf("upgrade: the target version is unknown")
	}
	rules := opts.Rules
	if rules == nil {
		rules = Registry().All()
	}
	rf := analyzer.Run(cfg, model, rules, analyzer.Options{Profile: from, Settings: opts.Settings})
	rt := analyzer.Run(cfg, model, rules, analyzer.Options{Profile: to, Settings: opts.Settings})
	rep := &UpgradeReport{From: from.String(), To: to.String(), Changes: []UpgradeChange{}, Unchanged: []UpgradeFinding{}}
	rep.Assumed = append(append(rep.Assumed, from.Assumed...), to.Assumed...)
	for _, e := range append(append([]error(nil), rf.RuleErrors...), rt.RuleErrors...) {
		rep.RuleErrors = append(rep.RuleErrors, e.Error())
	}

	type key struct {
		id, file string
		off      int
	}
	kf := func(d *analyzer.Diagnostic) key { return key{d.Rule.ID, d.Pos.File, d.Pos.Offset} }
	toByKey := map[key][]*analyzer.Diagnostic{}
	for _, d := range rt.Diagnostics {
		toByKey[kf(d)] = append(toByKey[kf(d)], d)
	}
	type pending struct {
		ch   *UpgradeChange
		d    *analyzer.Diagnostic // the side that reports it
		onTo bool
	}
	var work []pending
	for _, d := range rf.Diagnostics {
		k := kf(d)
		if ts := toByKey[k]; len(ts) > 0 {
			toByKey[k] = ts[1:]
			rep.Unchanged = append(rep.Unchanged, UpgradeFinding{Rule: d.Rule.ID, Slug: d.Rule.Slug, Position: d.Pos.String(), Message: ts[0].Message})
			continue
		}
		ch := newChange(d, Disappears, from, to)
		ch.From = sideOf(from, d)
		ch.To = UpgradeSide{Profile: to.String()}
		work = append(work, pending{ch, d, false})
	}
	for _, d := range rt.Diagnostics {
		k := kf(d)
		if len(toByKey[k]) == 0 || toByKey[k][0] != d {
			continue // matched with a finding on the current profile
		}
		toByKey[k] = toByKey[k][1:]
		ch := newChange(d, Appears, from, to)
		ch.From = UpgradeSide{Profile: from.String()}
		ch.To = sideOf(to, d)
		work = append(work, pending{ch, d, true})
	}

	par := opts.Parallel
	if par <= 0 {
		par = 2 * runtime.GOMAXPROCS(0)
	}
	sem := make(chan struct{}, par)
	var wg sync.WaitGroup
	for _, w := range work {
		if opts.NoConfirm {
			w.ch.Confirmation = analyzer.NotRun
			continue
		}
		wg.Add(1)
		sem <- struct{}{}
		go func() {
			defer wg.Done()
			defer func() { <-sem }()
			defer func() {
				if p := recover(); p != nil {
					w.ch.Confirmation, w.ch.Reason = analyzer.ConfirmError, fmt.Sprintf("confirmation of %s panicked: %v", w.ch.Rule, p)
				}
			}()
			confirmChange(ctx, model, w.ch, w.d, w.onTo, from, to)
		}()
	}
	wg.Wait()
	if err := ctx.Err(); err != nil {
		return nil, fmt.Errorf("upgrade: %w", err)
	}
	for _, w := range work {
		rep.Changes = append(rep.Changes, *w.ch)
	}
	slices.SortStableFunc(rep.Changes, func(a, b UpgradeChange) int {
		return cmp.Or(cmp.Compare(a.Pos.File, b.Pos.File), cmp.Compare(a.Pos.Offset, b.Pos.Offset), cmp.Compare(a.Rule, b.Rule))
	})
	return rep, nil
}

func newChange(d *analyzer.Diagnostic, kind string, from, to versions.Profile) *UpgradeChange {
	ch := &UpgradeChange{Kind: kind, Rule: d.Rule.ID, Slug: d.Rule.Slug, Title: d.Rule.Doc.Title,
		Position: d.Pos.String(), Pos: d.Pos, Fixed: d.Rule.Doc.Fixed}
	if b, ok := verBugOf(d.Rule.ID); ok && b.changeAt != "" && crosses(from, to, b.changeAt) {
		ch.Kind = ChangesBehaviour
	}
	return ch
}

// crosses reports whether moving between the profiles crosses nginx v (in
// either direction); an unknown nginx on either side counts as crossing.
func crosses(from, to versions.Profile, v string) bool {
	if !from.HasNginx() || !to.HasNginx() {
		return true
	}
	return from.Nginx.Less(v) != to.Nginx.Less(v)
}

func sideOf(p versions.Profile, d *analyzer.Diagnostic) UpgradeSide {
	return UpgradeSide{Profile: p.String(), Fires: true, Severity: d.Severity.String(), Message: d.Message}
}

// confirmChange emulates a change on both profiles.
func confirmChange(ctx context.Context, m *nginxconf.Model, ch *UpgradeChange, d *analyzer.Diagnostic, onTo bool, from, to versions.Profile) {
	fires, other := &ch.From, &ch.To
	fp, op := from, to
	if onTo {
		fires, other, fp, op = &ch.To, &ch.From, to, from
	}
	if d.Confirm == nil {
		ch.Confirmation = analyzer.NotConfirmable
		ch.Reason = d.Confirmation.Reason
		if ch.Reason == "" {
			ch.Reason = d.Rule.Doc.Confirmation
		}
		return
	}
	// VER rules: the rule's own scenario and judge on both profiles.
	if s, ok := d.Confirm.(verScenario); ok {
		a := s.withProfile(fp).runOn(ctx, fp, false)
		b := s.withProfile(op).runOn(ctx, op, false)
		fillSide(fires, a, s.policy)
		fillSide(other, b, s.policy)
		switch {
		case a.err != nil || b.err != nil:
			ch.Confirmation = analyzer.ConfirmError
			ch.Reason = strings.TrimPrefix(fires.Error+"; "+other.Error, "; ")
		case a.shows && !b.shows:
			ch.Confirmation = analyzer.Confirmed
		default:
			ch.Confirmation = analyzer.NotReproduced
		}
		return
	}
	// Other rules: confirm where the rule fires, replay on the other side.
	c := d.Confirm.Confirm(ctx)
	shows := c.Status == analyzer.Confirmed
	fires.ShowsEffect = &shows
	fires.Observation, fires.Observed = c.Summary, c.Observed
	if c.Status == analyzer.ConfirmError {
		fires.Error = c.Reason
		ch.Confirmation, ch.Reason = analyzer.ConfirmError, c.Reason
		return
	}
	res, policy, err := replay(ctx, m, d, c, op)
	if err != nil {
		other.Error = err.Error()
		ch.Confirmation, ch.Reason = analyzer.ConfirmError, "replay on "+op.String()+": "+err.Error()
		return
	}
	other.Observation, other.Observed = res.Summary(), observed(res, policy)
	sigA, sigB := observedSignature(c.Observed), resultSignature(res)
	switch {
	case !shows:
		ch.Confirmation, ch.Reason = analyzer.NotReproduced, "the rule's own scenario did not show the effect on "+fp.String()
	case sigA == sigB:
		ch.Confirmation, ch.Reason = analyzer.NotReproduced, "the same observation on both profiles"
	default:
		ch.Confirmation = analyzer.Confirmed
	}
}

func fillSide(s *UpgradeSide, r sideResult, policy string) {
	if r.err != nil {
		s.Error = r.err.Error()
		return
	}
	shows := r.shows
	s.ShowsEffect = &shows
	s.Observation = r.summary
	if !strings.Contains(r.summary, " -> ") {
		s.Observation += " (" + r.res.Summary() + ")"
	}
	s.Observed = observed(r.res, policy)
}

// replay runs, on profile p, the scenario a non-VER rule confirmed with:
// the same upstream and location (found from the finding's position and
// related positions), backend policy and requests (from the observation).
func replay(ctx context.Context, m *nginxconf.Model, d *analyzer.Diagnostic, c analyzer.Confirmation, p versions.Profile) (*emulator.Result, string, error) {
	policy, _ := c.Observed["backend_policy"].(string)
	reqs, _ := c.Observed["requests"].([]map[string]any)
	if policy == "" || len(reqs) == 0 {
		return nil, "", fmt.Errorf("the confirmation recorded no backend policy or requests to replay")
	}
	var rs []string
	for _, q := range reqs {
		method, _ := q["method"].(string)
		path, _ := q["path"].(string)
		rs = append(rs, method+" "+path)
	}
	t, ok := targetFor(m, d)
	if !ok {
		return nil, "", fmt.Errorf("no upstream and location found for the finding at %s", d.Pos)
	}
	cfg, err := fromconf.Build(t)
	if err != nil {
		return nil, "", err
	}
	cfg.Profile = p.Concrete()
	if cfg.DefaultPolicy, err = emulator.ParsePolicy(policy); err != nil {
		return nil, "", err
	}
	if cfg.Requests, err = emulator.ParseRequests(strings.Join(rs, ", ")); err != nil {
		return nil, "", err
	}
	// Replay with the firing side's cap when it hit one, so two unbounded
	// runs compare equal.
	cfg.MaxAttempts, cfg.Timeout = 1000, 5*time.Second
	for _, q := range reqs {
		if u, _ := q["unbounded"].(bool); u {
			if n, _ := q["attempts"].(int); n > 0 {
				cfg.MaxAttempts = n
			}
		}
	}
	res, err := emulator.Run(ctx, cfg)
	return res, policy, err
}

// targetFor finds the upstream and location a finding is about: a location
// whose proxy_pass is the finding's (or a related) position or whose block
// holds it, else the upstream whose block or balancer code holds one of
// the positions, with the first location proxying to it.
func targetFor(m *nginxconf.Model, d *analyzer.Diagnostic) (fromconf.Target, bool) {
	ps := []nginxconf.Pos{d.Pos}
	for _, r := range d.Related {
		ps = append(ps, r.Pos)
	}
	var pls []fromconf.Target
	for _, u := range httpUpstreams(m) {
		for _, l := range locationsUsing(m, u) {
			pls = append(pls, fromconf.Target{Upstream: u, Location: l})
		}
	}
	for _, t := range pls {
		for _, p := range ps {
			if t.Location.Proxy.Pass.Directive.Pos == p {
				return t, true
			}
		}
	}
	for _, t := range pls {
		if within(t.Location.Directive, d.Pos) {
			return t, true
		}
	}
	for _, u := range httpUpstreams(m) {
		ls := locationsUsing(m, u)
		if len(ls) == 0 {
			continue
		}
		for _, p := range ps {
			if within(u.Directive, p) || inChunk(u.Balancer, p) {
				return fromconf.Target{Upstream: u, Location: ls[0]}, true
			}
		}
	}
	return fromconf.Target{}, false
}

func within(d *nginxconf.Directive, p nginxconf.Pos) bool {
	return d != nil && p.IsValid() && p.File == d.Pos.File && d.Pos.Offset <= p.Offset && p.Offset < d.End.Offset
}

func inChunk(d *nginxconf.Directive, p nginxconf.Pos) bool {
	if d == nil || d.Lua == nil || !p.IsValid() {
		return false
	}
	c := d.Lua
	return p.File == c.Pos.File && c.Pos.Offset <= p.Offset && p.Offset <= c.End.Offset
}

// resultSignature and observedSignature summarise what the client saw per
// request: status, attempts and whether it was unbounded.
func resultSignature(r *emulator.Result) string {
	var b strings.Builder
	for _, q := range r.Requests {
		fmt.Fprintf(&b, "%s/%d/%v;", q.Status, len(q.Attempts), q.Unbounded)
	}
	return b.String()
}

func observedSignature(o map[string]any) string {
	reqs, _ := o["requests"].([]map[string]any)
	var b strings.Builder
	for _, q := range reqs {
		fmt.Fprintf(&b, "%v/%v/%v;", q["status"], q["attempts"], q["unbounded"])
	}
	return b.String()
}

// JSON returns the indented JSON form of the report (with "<" and ">"
// as written: the messages compare versions).
func (r *UpgradeReport) JSON() ([]byte, error) {
	var b bytes.Buffer
	enc := json.NewEncoder(&b)
	enc.SetEscapeHTML(false)
	enc.SetIndent("", "  ")
	if err := enc.Encode(r); err != nil {
		return nil, err
	}
	return b.Bytes(), nil
}

// WriteText writes the report for people.
func (r *UpgradeReport) WriteText(w io.Writer) error {
	var b strings.Builder
	fmt.Fprintf(&b, "upgrade from %s\n          to %s\n", r.From, r.To)
	for _, a := range r.Assumed {
		fmt.Fprintf(&b, "assumed: %s\n", a)
	}
	confirmed := 0
	for _, c := range r.Changes {
		if c.Confirmation == analyzer.Confirmed {
			confirmed++
		}
	}
	fmt.Fprintf(&b, "%s (%d confirmed in the emulator), %s unchanged\n",
		plural(len(r.Changes), "change"), confirmed, plural(len(r.Unchanged), "finding"))
	for _, c := range r.Changes {
		fmt.Fprintf(&b, "\n%s: %s %s %s [%s]\n", c.Position, c.Kind, c.Rule, c.Slug, c.Confirmation)
		msg := c.To.Message
		if c.Kind != Appears {
			msg = c.From.Message
		}
		fmt.Fprintf(&b, "  %s\n", msg)
		for _, s := range []struct {
			label string
			side  UpgradeSide
		}{{"before", c.From}, {"after ", c.To}} {
			switch {
			case s.side.Error != "":
				fmt.Fprintf(&b, "  %s (%s): error: %s\n", s.label, s.side.Profile, s.side.Error)
			case s.side.Observation != "":
				fmt.Fprintf(&b, "  %s (%s): %s\n", s.label, s.side.Profile, s.side.Observation)
			}
		}
		if c.Reason != "" && c.Confirmation != analyzer.Confirmed {
			fmt.Fprintf(&b, "  %s: %s\n", c.Confirmation, c.Reason)
		}
		if c.Kind == Disappears && c.Fixed != "" {
			fmt.Fprintf(&b, "  fixed in: %s\n", c.Fixed)
		}
	}
	if len(r.Unchanged) > 0 {
		b.WriteString("\nunchanged:\n")
		for _, u := range r.Unchanged {
			fmt.Fprintf(&b, "  %s: %s %s\n", u.Position, u.Rule, u.Slug)
		}
	}
	for _, e := range r.RuleErrors {
		fmt.Fprintf(&b, "rule error: %s\n", e)
	}
	_, err := io.WriteString(w, b.String())
	return err
}

// UpgradeTarget resolves the --upgrade-to argument against the current
// profile: "1.29.2.4" (four parts: an OpenResty release), "1.29.7" (three
// parts: stock nginx, keeping the current lua-nginx-module), or a spec such
// as "openresty=1.31.1.1" or "nginx=1.29.7,lnm=0.10.29".
func UpgradeTarget(arg string, from versions.Profile) (versions.Profile, error) {
	arg = strings.TrimSpace(arg)
	if arg == "" {
		return versions.Profile{}, fmt.Errorf("--upgrade-to: empty version")
	}
	if strings.Contains(arg, "=") {
		p, err := resolveSpec(arg)
		if err != nil {
			return versions.Profile{}, fmt.Errorf("--upgrade-to %q: %w", arg, err)
		}
		return p, nil
	}
	v := strings.TrimPrefix(strings.TrimPrefix(arg, "openresty/"), "nginx/")
	if strings.Count(v, ".") >= 3 {
		p, err := versions.Resolve("", "", v)
		if err != nil {
			return versions.Profile{}, fmt.Errorf("--upgrade-to %q: %w", arg, err)
		}
		return p, nil
	}
	lnm := ""
	if from.HasLNM() {
		lnm = from.LNM.String()
	}
	p, err := versions.Resolve(v, lnm, "")
	if err != nil {
		return versions.Profile{}, fmt.Errorf("--upgrade-to %q: %w", arg, err)
	}
	return p, nil
}
