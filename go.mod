module github.com/ngxlint/ngxlint

go 1.26.8

require (
	github.com/tufanbarisyildirim/gonginx v0.0.0-20260220081509-8e17ce617db3
	github.com/yuin/gopher-lua v1.1.2
	golang.org/x/tools v0.52.0
)
