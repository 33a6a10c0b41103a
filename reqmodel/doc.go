// Package reqmodel is nginx's request model as the security rules and the
// emulator's request path need it: how a request target becomes $uri
// (ngx_http_parse_complex_uri: percent-decoding, merging slashes, resolving
// dot segments), how a location is chosen for a URI
// (ngx_http_core_find_location: exact, longest prefix, "^~", regexes in
// order, nested locations), how the configuration's PCRE regexes match and
// what their captures can hold, and what each variable can carry: CR/LF,
// "../", a host the client chose (Taint).
//
// It reads nginxconf's model and imports nothing else of ours. It answers
// questions about values and routing; it neither reports findings (rules)
// nor serves requests (emulator).
package reqmodel
