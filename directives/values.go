package directives

import (
	"fmt"
	"math"
	"strings"
)

// Problem is what nginx says about a directive's value: the message as
// nginx prints it after "[emerg] " and the argument it is about (0-based
// among the arguments).
type Problem struct {
	Arg     int
	Message string
}

// CheckValue runs the value parser of d on args as nginx does when it
// reads the directive, and returns nginx's complaint, or nil when nginx
// accepts the value or the directive's handler is the module's own
// (Other: not modelled). args are the directive's arguments after
// unquoting; the argument count is assumed already accepted.
//
// The slot parsers do not expand variables: "proxy_buffering $x" is
// refused by nginx at start, so it is reported here too.
func (d Directive) CheckValue(args []string) *Problem {
	if len(args) == 0 {
		return nil
	}
	// ngx_conf_file.c: slots that fail a parse return a string nginx
	// prints as "\"%s\" directive %s"; flag, enum and bitmask log their
	// own message.
	slotErr := func(i int, what string) *Problem {
		return &Problem{Arg: i, Message: fmt.Sprintf("%q directive %s", d.Name, what)}
	}
	switch d.Value {
	case FlagV:
		if !strings.EqualFold(args[0], "on") && !strings.EqualFold(args[0], "off") {
			return &Problem{Arg: 0, Message: fmt.Sprintf("invalid value %q in %q directive, it must be \"on\" or \"off\"", args[0], d.Name)}
		}
	case Num:
		n, ok := atoi(args[0])
		if !ok {
			return slotErr(0, "invalid number")
		}
		// ngx_conf_check_num_bounds, the post of bounded numbers.
		switch {
		case !d.Bounded:
		case d.High == -1 && n < d.Low:
			return &Problem{Arg: 0, Message: fmt.Sprintf("value must be equal to or greater than %d", d.Low)}
		case d.High != -1 && (n < d.Low || n > d.High):
			return &Problem{Arg: 0, Message: fmt.Sprintf("value must be between %d and %d", d.Low, d.High)}
		}
	case Size:
		if _, ok := ParseSize(args[0]); !ok {
			return slotErr(0, "invalid value")
		}
	case Off:
		if _, ok := ParseOffset(args[0]); !ok {
			return slotErr(0, "invalid value")
		}
	case Msec:
		if _, ok := ParseTime(args[0], false); !ok {
			return slotErr(0, "invalid value")
		}
	case Sec:
		if _, ok := ParseTime(args[0], true); !ok {
			return slotErr(0, "invalid value")
		}
	case Bufs:
		if len(args) < 2 {
			return nil
		}
		if n, ok := atoi(args[0]); !ok || n == 0 {
			return slotErr(0, "invalid value")
		}
		if n, ok := ParseSize(args[1]); !ok || n == 0 {
			return slotErr(1, "invalid value")
		}
	case Enum:
		if !d.hasValue(args[0]) {
			return &Problem{Arg: 0, Message: fmt.Sprintf("invalid value %q", args[0])}
		}
	case Bitmask:
		for i, a := range args {
			if !d.hasValue(a) {
				return &Problem{Arg: i, Message: fmt.Sprintf("invalid value %q", a)}
			}
		}
	}
	return nil
}

// hasValue compares as ngx_conf_set_enum_slot / bitmask_slot do: same
// length, ngx_strcasecmp.
func (d Directive) hasValue(v string) bool {
	for _, w := range d.Values {
		if strings.EqualFold(w, v) {
			return true
		}
	}
	return false
}

// atoi is ngx_atoi: decimal digits only, at least one, no sign, no
// overflow of ngx_int_t (64 bits here, as on the platforms nginx is built
// for today).
func atoi(s string) (int64, bool) {
	if s == "" {
		return 0, false
	}
	var v int64
	for i := 0; i < len(s); i++ {
		c := s[i]
		if c < '0' || c > '9' {
			return 0, false
		}
		if v > (math.MaxInt64-int64(c-'0'))/10 {
			return 0, false
		}
		v = v*10 + int64(c-'0')
	}
	return v, true
}

// ParseSize is ngx_parse_size (src/core/ngx_parse.c): a number with an
// optional k/K or m/M suffix (no g: sizes are buffers).
func ParseSize(s string) (int64, bool) {
	return parseScaled(s, "kKmM")
}

// ParseOffset is ngx_parse_offset: a number with an optional k, m or g
// suffix, either case.
func ParseOffset(s string) (int64, bool) {
	return parseScaled(s, "kKmMgG")
}

func parseScaled(s, units string) (int64, bool) {
	if s == "" {
		return 0, false
	}
	scale := int64(1)
	if u := s[len(s)-1]; strings.IndexByte(units, u) >= 0 {
		switch u {
		case 'k', 'K':
			scale = 1 << 10
		case 'm', 'M':
			scale = 1 << 20
		case 'g', 'G':
			scale = 1 << 30
		}
		s = s[:len(s)-1]
	}
	v, ok := atoi(s)
	if !ok || v > math.MaxInt64/scale {
		return 0, false
	}
	return v * scale, true
}

// ParseTime is ngx_parse_time: numbers with units in decreasing order
// (y M w d h m s ms, each at most once; "ms" only for milliseconds, when
// isSec is false), separated by optional spaces; a trailing number
// without a unit is seconds. It returns seconds (isSec) or milliseconds.
func ParseTime(s string, isSec bool) (int64, bool) {
	const (
		stStart = iota
		stYear
		stMonth
		stWeek
		stDay
		stHour
		stMin
		stSec
		stMsec
		stLast
	)
	step := stMonth // milliseconds: no years (ngx_parse_time)
	if isSec {
		step = stStart
	}
	var value, total int64
	valid := false
	for i := 0; i < len(s); {
		c := s[i]
		if c >= '0' && c <= '9' {
			if value > (math.MaxInt64-int64(c-'0'))/10 {
				return 0, false
			}
			value = value*10 + int64(c-'0')
			valid = true
			i++
			continue
		}
		i++
		var scale int64
		next := 0
		switch c {
		case 'y':
			next, scale = stYear, 60*60*24*365
			if step > stStart {
				return 0, false
			}
		case 'M':
			next, scale = stMonth, 60*60*24*30
		case 'w':
			next, scale = stWeek, 60*60*24*7
		case 'd':
			next, scale = stDay, 60*60*24
		case 'h':
			next, scale = stHour, 60*60
		case 'm':
			if i < len(s) && s[i] == 's' {
				if isSec {
					return 0, false
				}
				i++
				next, scale = stMsec, 1
			} else {
				next, scale = stMin, 60
			}
		case 's':
			next, scale = stSec, 1
		case ' ':
			if step >= stSec {
				return 0, false
			}
			next, scale = stLast, 1
		default:
			return 0, false
		}
		if c != 'y' && c != ' ' && step >= next {
			return 0, false
		}
		step = next
		if step != stMsec && !isSec {
			scale *= 1000
		}
		if value > math.MaxInt64/scale {
			return 0, false
		}
		value *= scale
		if total > math.MaxInt64-value {
			return 0, false
		}
		total += value
		value = 0
		for i < len(s) && s[i] == ' ' {
			i++
		}
	}
	if !valid {
		return 0, false
	}
	if !isSec {
		if value > math.MaxInt64/1000 {
			return 0, false
		}
		value *= 1000
	}
	if total > math.MaxInt64-value {
		return 0, false
	}
	return total + value, true
}
