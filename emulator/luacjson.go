package emulator

import (
	"math"
	"sort"
	"strconv"
	"strings"

	lua "github.com/yuin/gopher-lua"
)

// cjson and cjson.safe after OpenResty's lua-cjson 2.1.0.x: array
// detection (a table whose keys are all positive integers is an array,
// holes filled with null, "excessively sparse" past the sparse ratio),
// numbers as "%.14g", "/" escaped, empty tables as objects unless
// encode_empty_table_as_object(false), cjson.null and cjson.empty_array,
// depth limits of 1000, and the error texts of lua_cjson.c ("Cannot
// serialise function: type not supported", "Expected value but found
// T_END at character 1"). Object keys are written in sorted order (the
// real order is that of lua_next). cjson.safe returns nil and the message
// instead of raising.

type cjsonCfg struct {
	emptyAsObject            bool
	sparseConvert            bool
	sparseRatio, sparseSafe  int
	encodeDepth, decodeDepth int
	precision                int
	escapeSlash              bool
	decodeArrayWithArrayMT   bool
	null, emptyArray         *lua.LUserData
	arrayMT, emptyArrayMT    *lua.LTable
}

type cjsonError struct{ msg string }

func (e *luaEngine) buildCJSON(safe bool) lua.LValue {
	if safe && e.cjsonSafe != nil {
		return e.cjsonSafe
	}
	if !safe && e.cjson != nil {
		return e.cjson
	}
	t := e.newCJSON(safe)
	if safe {
		e.cjsonSafe = t
	} else {
		e.cjson = t
	}
	return t
}

func (e *luaEngine) newCJSON(safe bool) *lua.LTable {
	L := e.L
	// cjson.null is lightuserdata NULL in lua-cjson, the same value as
	// ngx.null.
	null, _ := e.ngx.RawGetString("null").(*lua.LUserData)
	if null == nil {
		null = L.NewUserData()
	}
	c := &cjsonCfg{emptyAsObject: true, sparseRatio: 2, sparseSafe: 10, encodeDepth: 1000, decodeDepth: 1000,
		precision: 14, escapeSlash: true, null: null, emptyArray: L.NewUserData(),
		arrayMT: L.NewTable(), emptyArrayMT: L.NewTable()}
	t := L.NewTable()
	wrap := func(f func(L *lua.LState) int) lua.LGFunction {
		return func(L *lua.LState) (n int) {
			defer func() {
				if p := recover(); p != nil {
					ce, ok := p.(cjsonError)
					if !ok {
						panic(p)
					}
					if safe {
						L.SetTop(0)
						L.Push(lua.LNil)
						L.Push(lua.LString(ce.msg))
						n = 2
						return
					}
					L.RaiseError("%s", ce.msg)
				}
			}()
			return f(L)
		}
	}
	e.setFn(t, "encode", wrap(func(L *lua.LState) int {
		if L.GetTop() != 1 {
			L.ArgError(1, "expected 1 argument")
		}
		var b strings.Builder
		c.encode(L, &b, L.Get(1), 0)
		L.Push(lua.LString(b.String()))
		return 1
	}))
	e.setFn(t, "decode", wrap(func(L *lua.LState) int {
		if L.GetTop() != 1 {
			L.ArgError(1, "expected 1 argument")
		}
		s := L.CheckString(1)
		d := &cjsonDecoder{L: L, c: c, s: s}
		v := d.value(0)
		d.ws()
		if d.i < len(d.s) {
			d.fail("the end", d.token())
		}
		L.Push(v)
		return 1
	}))
	boolOpt := func(p *bool) lua.LGFunction {
		return func(L *lua.LState) int {
			if L.GetTop() >= 1 {
				v := L.Get(1)
				switch x := v.(type) {
				case lua.LBool:
					*p = bool(x)
				case lua.LString:
					*p = x == "on"
				}
			}
			L.Push(lua.LBool(*p))
			return 1
		}
	}
	intOpt := func(p *int) lua.LGFunction {
		return func(L *lua.LState) int {
			if L.GetTop() >= 1 {
				*p = L.CheckInt(1)
			}
			L.Push(lua.LNumber(*p))
			return 1
		}
	}
	e.setFn(t, "encode_empty_table_as_object", boolOpt(&c.emptyAsObject))
	e.setFn(t, "encode_escape_forward_slash", boolOpt(&c.escapeSlash))
	e.setFn(t, "decode_array_with_array_mt", boolOpt(&c.decodeArrayWithArrayMT))
	e.setFn(t, "encode_max_depth", intOpt(&c.encodeDepth))
	e.setFn(t, "decode_max_depth", intOpt(&c.decodeDepth))
	e.setFn(t, "encode_number_precision", intOpt(&c.precision))
	e.setFn(t, "encode_sparse_array", func(L *lua.LState) int {
		if L.GetTop() >= 1 {
			c.sparseConvert = lua.LVAsBool(L.Get(1))
		}
		if L.GetTop() >= 2 {
			c.sparseRatio = L.CheckInt(2)
		}
		if L.GetTop() >= 3 {
			c.sparseSafe = L.CheckInt(3)
		}
		L.Push(lua.LBool(c.sparseConvert))
		L.Push(lua.LNumber(c.sparseRatio))
		L.Push(lua.LNumber(c.sparseSafe))
		return 3
	})
	e.setFn(t, "encode_keep_buffer", func(L *lua.LState) int { L.Push(lua.LTrue); return 1 })
	e.setFn(t, "encode_invalid_numbers", func(L *lua.LState) int { L.Push(lua.LFalse); return 1 })
	e.setFn(t, "decode_invalid_numbers", func(L *lua.LState) int { L.Push(lua.LTrue); return 1 })
	e.setFn(t, "new", func(L *lua.LState) int { L.Push(e.newCJSON(safe)); return 1 })
	t.RawSetString("null", c.null)
	t.RawSetString("empty_array", c.emptyArray)
	t.RawSetString("array_mt", c.arrayMT)
	t.RawSetString("empty_array_mt", c.emptyArrayMT)
	t.RawSetString("_NAME", lua.LString("cjson"))
	t.RawSetString("_VERSION", lua.LString("2.1.0.10"))
	return t
}

func (c *cjsonCfg) fail(msg string) { panic(cjsonError{msg}) }

func (c *cjsonCfg) encode(L *lua.LState, b *strings.Builder, v lua.LValue, depth int) {
	if b.Len() > luaMaxString {
		c.fail("resulting string too large")
	}
	switch x := v.(type) {
	case *lua.LNilType:
		b.WriteString("null")
	case lua.LBool:
		b.WriteString(x.String())
	case lua.LNumber:
		f := float64(x)
		if math.IsNaN(f) || math.IsInf(f, 0) {
			c.fail("Cannot serialise number: must not be NaN or Inf")
		}
		b.WriteString(fmtG(f, c.precision))
	case lua.LString:
		c.str(b, string(x))
	case *lua.LUserData:
		switch x {
		case c.null:
			b.WriteString("null")
		case c.emptyArray:
			b.WriteString("[]")
		default:
			c.fail("Cannot serialise userdata: type not supported")
		}
	case *lua.LTable:
		depth++
		if depth > c.encodeDepth {
			c.fail("Cannot serialise, excessive nesting (" + strconv.Itoa(depth) + ")")
		}
		n, isArr := c.arrayLen(x)
		if isArr {
			if n == 0 && c.emptyAsObject && x.Metatable != c.arrayMT && x.Metatable != c.emptyArrayMT {
				b.WriteString("{}")
				return
			}
			b.WriteByte('[')
			for i := 1; i <= n; i++ {
				if i > 1 {
					b.WriteByte(',')
				}
				c.encode(L, b, x.RawGetInt(i), depth)
			}
			b.WriteByte(']')
			return
		}
		type kv struct {
			k string
			v lua.LValue
		}
		var kvs []kv
		x.ForEach(func(k, v lua.LValue) {
			switch kk := k.(type) {
			case lua.LString:
				kvs = append(kvs, kv{string(kk), v})
			case lua.LNumber:
				kvs = append(kvs, kv{fmtG(float64(kk), c.precision), v})
			default:
				c.fail("Cannot serialise " + k.Type().String() + ": table key must be a number or string")
			}
		})
		sort.Slice(kvs, func(i, j int) bool { return kvs[i].k < kvs[j].k })
		b.WriteByte('{')
		for i, p := range kvs {
			if i > 0 {
				b.WriteByte(',')
			}
			c.str(b, p.k)
			b.WriteByte(':')
			c.encode(L, b, p.v, depth)
		}
		b.WriteByte('}')
	default:
		c.fail("Cannot serialise " + v.Type().String() + ": type not supported")
	}
}

// arrayLen is lua_array_length: the table's largest key when every key
// is a positive integer (-1 otherwise), with the sparse array check.
func (c *cjsonCfg) arrayLen(t *lua.LTable) (int, bool) {
	if t.Metatable == c.arrayMT || t.Metatable == c.emptyArrayMT {
		return t.Len(), true
	}
	maxKey, items := 0, 0
	isArr := true
	t.ForEach(func(k, _ lua.LValue) {
		n, ok := k.(lua.LNumber)
		if !ok || float64(n) < 1 || float64(n) != math.Floor(float64(n)) {
			isArr = false
			return
		}
		if int(n) > maxKey {
			maxKey = int(n)
		}
		items++
	})
	if !isArr {
		return 0, false
	}
	if c.sparseRatio > 0 && maxKey > items*c.sparseRatio && maxKey > c.sparseSafe {
		if !c.sparseConvert {
			c.fail("Cannot serialise table: excessively sparse array")
		}
		return 0, false
	}
	return maxKey, true
}

func (c *cjsonCfg) str(b *strings.Builder, s string) {
	b.WriteByte('"')
	for i := 0; i < len(s); i++ {
		ch := s[i]
		switch ch {
		case '"':
			b.WriteString(`\"`)
		case '\\':
			b.WriteString(`\\`)
		case '/':
			if c.escapeSlash {
				b.WriteString(`\/`)
			} else {
				b.WriteByte('/')
			}
		case '\b':
			b.WriteString(`\b`)
		case '\f':
			b.WriteString(`\f`)
		case '\n':
			b.WriteString(`\n`)
		case '\r':
			b.WriteString(`\r`)
		case '\t':
			b.WriteString(`\t`)
		default:
			if ch < 0x20 || ch == 0x7f {
				b.WriteString(`\u00`)
				b.WriteString(strconv.FormatUint(uint64(ch)>>4, 16))
				b.WriteString(strconv.FormatUint(uint64(ch)&15, 16))
			} else {
				b.WriteByte(ch)
			}
		}
	}
	b.WriteByte('"')
}

// fmtG is C's "%.<prec>g".
func fmtG(f float64, prec int) string {
	if f == math.Trunc(f) && math.Abs(f) < 1e15 && !(f == 0 && math.Signbit(f)) {
		if s := strconv.FormatFloat(f, 'f', -1, 64); len(strings.TrimLeft(s, "-")) <= prec {
			return s
		}
	}
	s := strconv.FormatFloat(f, 'g', prec, 64)
	// C trims trailing zeros of %g and writes a two-digit exponent.
	if i := strings.IndexAny(s, "e"); i >= 0 {
		mant, exp := s[:i], s[i+1:]
		if strings.Contains(mant, ".") {
			mant = strings.TrimRight(strings.TrimRight(mant, "0"), ".")
		}
		sign := "+"
		if exp[0] == '-' || exp[0] == '+' {
			sign, exp = exp[:1], exp[1:]
		}
		if len(exp) < 2 {
			exp = "0" + exp
		}
		return mant + "e" + sign + exp
	}
	if strings.Contains(s, ".") {
		s = strings.TrimRight(strings.TrimRight(s, "0"), ".")
	}
	return s
}

type cjsonDecoder struct {
	L *lua.LState
	c *cjsonCfg
	s string
	i int
}

func (d *cjsonDecoder) ws() {
	for d.i < len(d.s) && strings.IndexByte(" \t\r\n", d.s[d.i]) >= 0 {
		d.i++
	}
}

// token names what is at d.i as lua-cjson's json_token_type_name does.
func (d *cjsonDecoder) token() string {
	if d.i >= len(d.s) {
		return "T_END"
	}
	switch d.s[d.i] {
	case '{':
		return "T_OBJ_BEGIN"
	case '}':
		return "T_OBJ_END"
	case '[':
		return "T_ARR_BEGIN"
	case ']':
		return "T_ARR_END"
	case ',':
		return "T_COMMA"
	case ':':
		return "T_COLON"
	case '"':
		return "T_STRING"
	}
	return "invalid token"
}

func (d *cjsonDecoder) fail(expected, found string) {
	d.c.fail("Expected " + expected + " but found " + found + " at character " + strconv.Itoa(d.i+1))
}

func (d *cjsonDecoder) value(depth int) lua.LValue {
	d.ws()
	if d.i >= len(d.s) {
		d.fail("value", "T_END")
	}
	L := d.L
	switch ch := d.s[d.i]; {
	case ch == '{':
		depth++
		if depth > d.c.decodeDepth {
			d.c.fail("Found too many nested data structures (" + strconv.Itoa(depth) + ") at character " + strconv.Itoa(d.i+1))
		}
		d.i++
		t := L.NewTable()
		d.ws()
		if d.i < len(d.s) && d.s[d.i] == '}' {
			d.i++
			return t
		}
		for {
			d.ws()
			if d.i >= len(d.s) || d.s[d.i] != '"' {
				d.fail("object key string", d.token())
			}
			k := d.str()
			d.ws()
			if d.i >= len(d.s) || d.s[d.i] != ':' {
				d.fail("colon", d.token())
			}
			d.i++
			t.RawSetString(k, d.value(depth))
			d.ws()
			if d.i < len(d.s) && d.s[d.i] == ',' {
				d.i++
				continue
			}
			if d.i < len(d.s) && d.s[d.i] == '}' {
				d.i++
				return t
			}
			d.fail("comma or object end", d.token())
		}
	case ch == '[':
		depth++
		if depth > d.c.decodeDepth {
			d.c.fail("Found too many nested data structures (" + strconv.Itoa(depth) + ") at character " + strconv.Itoa(d.i+1))
		}
		d.i++
		t := L.NewTable()
		if d.c.decodeArrayWithArrayMT {
			t.Metatable = d.c.arrayMT
		}
		d.ws()
		if d.i < len(d.s) && d.s[d.i] == ']' {
			d.i++
			return t
		}
		for n := 1; ; n++ {
			t.RawSetInt(n, d.value(depth))
			d.ws()
			if d.i < len(d.s) && d.s[d.i] == ',' {
				d.i++
				continue
			}
			if d.i < len(d.s) && d.s[d.i] == ']' {
				d.i++
				return t
			}
			d.fail("comma or array end", d.token())
		}
	case ch == '"':
		return lua.LString(d.str())
	case strings.HasPrefix(d.s[d.i:], "true"):
		d.i += 4
		return lua.LTrue
	case strings.HasPrefix(d.s[d.i:], "false"):
		d.i += 5
		return lua.LFalse
	case strings.HasPrefix(d.s[d.i:], "null"):
		d.i += 4
		return d.c.null
	case ch == '-' || ch >= '0' && ch <= '9' || ch == 'n' || ch == 'i' || ch == 'I' || ch == 'N':
		j := d.i
		for j < len(d.s) && strings.IndexByte("+-0123456789.eEinfatyINFATY", d.s[j]) >= 0 {
			j++
		}
		f, err := strconv.ParseFloat(d.s[d.i:j], 64)
		if err != nil && !strings.Contains(err.Error(), "range") {
			d.fail("value", "invalid token")
		}
		d.i = j
		return lua.LNumber(f)
	}
	d.fail("value", d.token())
	return lua.LNil
}

func (d *cjsonDecoder) str() string {
	start := d.i
	d.i++
	var b strings.Builder
	for {
		if d.i >= len(d.s) {
			d.i = start
			d.fail("value", "unexpected end of string")
		}
		ch := d.s[d.i]
		switch {
		case ch == '"':
			d.i++
			return b.String()
		case ch == '\\':
			if d.i+1 >= len(d.s) {
				d.i = start
				d.fail("value", "invalid escape code")
			}
			esc := d.s[d.i+1]
			d.i += 2
			switch esc {
			case '"', '\\', '/':
				b.WriteByte(esc)
			case 'b':
				b.WriteByte('\b')
			case 'f':
				b.WriteByte('\f')
			case 'n':
				b.WriteByte('\n')
			case 'r':
				b.WriteByte('\r')
			case 't':
				b.WriteByte('\t')
			case 'u':
				r, ok := d.hex4()
				if ok && r >= 0xd800 && r < 0xdc00 && strings.HasPrefix(d.s[d.i:], "\\u") {
					d.i += 2
					lo, ok2 := d.hex4()
					if !ok2 || lo < 0xdc00 || lo > 0xdfff {
						ok = false
					}
					r = 0x10000 + (r-0xd800)<<10 + (lo - 0xdc00)
				} else if r >= 0xd800 && r <= 0xdfff {
					ok = false
				}
				if !ok {
					d.i = start
					d.fail("value", "invalid unicode escape code")
				}
				b.WriteRune(rune(r))
			default:
				d.i = start
				d.fail("value", "invalid escape code")
			}
		case ch < 0x20:
			d.i = start
			d.fail("value", "invalid token")
		default:
			b.WriteByte(ch)
			d.i++
		}
	}
}

func (d *cjsonDecoder) hex4() (int, bool) {
	if d.i+4 > len(d.s) {
		return 0, false
	}
	v, err := strconv.ParseUint(d.s[d.i:d.i+4], 16, 32)
	if err != nil {
		return 0, false
	}
	d.i += 4
	return int(v), true
}
