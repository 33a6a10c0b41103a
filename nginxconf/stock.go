package nginxconf

import "strings"

// StockFile is one of the files nginx's source ships in conf/ and
// installations put next to nginx.conf (mime.types, fastcgi_params...),
// which configurations include but repositories seldom carry. Its facts
// (the directives it holds) are written here from nginx 1.22.1's conf/
// directory, the files Debian 12 installs in /etc/nginx (without
// Debian's own additions, such as HTTP_HOST in fastcgi_params): the
// load takes a missing stock include as satisfied by them, with a note.
type StockFile struct {
	// Name is the file's name in conf/ ("mime.types").
	Name string
	// Source says where the facts come from.
	Source string
	// Directives are the file's directives; a block directive's
	// children are in Block.
	Directives []StockDirective
}

// StockDirective is one directive of a stock file.
type StockDirective struct {
	Name  string
	Args  []string
	Block []StockDirective
}

// stockSource is the release the stock facts were read from.
const stockSource = "nginx 1.22.1 conf/"

// Stock returns the stock file named name (a base name: "mime.types",
// "fastcgi_params", "fastcgi.conf", "uwsgi_params", "scgi_params",
// "koi-utf", "koi-win", "win-utf").
func Stock(name string) (*StockFile, bool) {
	f, ok := stockFiles[name]
	return f, ok
}

// stockFiles are nginx's conf/ files by name.
var stockFiles = func() map[string]*StockFile {
	m := map[string]*StockFile{}
	add := func(name string, ds []StockDirective) {
		m[name] = &StockFile{Name: name, Source: stockSource + name, Directives: ds}
	}
	params := func(directive string, pairs [][]string) []StockDirective {
		out := make([]StockDirective, 0, len(pairs))
		for _, p := range pairs {
			out = append(out, StockDirective{Name: directive, Args: p})
		}
		return out
	}
	add("fastcgi_params", params("fastcgi_param", fastcgiParams))
	// fastcgi.conf is fastcgi_params with SCRIPT_FILENAME first.
	add("fastcgi.conf", params("fastcgi_param", append([][]string{{"SCRIPT_FILENAME", "$document_root$fastcgi_script_name"}}, fastcgiParams...)))
	add("uwsgi_params", params("uwsgi_param", uwsgiParams))
	add("scgi_params", params("scgi_param", scgiParams))
	types := StockDirective{Name: "types"}
	for _, t := range mimeTypes {
		types.Block = append(types.Block, StockDirective{Name: t[0], Args: strings.Fields(t[1])})
	}
	add("mime.types", []StockDirective{types})
	// The charset tables hold one charset_map block each (its byte
	// mappings are not needed by any check and are left out).
	add("koi-utf", []StockDirective{{Name: "charset_map", Args: []string{"koi8-r", "utf-8"}}})
	add("koi-win", []StockDirective{{Name: "charset_map", Args: []string{"koi8-r", "windows-1251"}}})
	add("win-utf", []StockDirective{{Name: "charset_map", Args: []string{"windows-1251", "utf-8"}}})
	return m
}()

// fastcgiParams are the fastcgi_param lines of fastcgi_params.
var fastcgiParams = [][]string{
	{"QUERY_STRING", "$query_string"},
	{"REQUEST_METHOD", "$request_method"},
	{"CONTENT_TYPE", "$content_type"},
	{"CONTENT_LENGTH", "$content_length"},
	{"SCRIPT_NAME", "$fastcgi_script_name"},
	{"REQUEST_URI", "$request_uri"},
	{"DOCUMENT_URI", "$document_uri"},
	{"DOCUMENT_ROOT", "$document_root"},
	{"SERVER_PROTOCOL", "$server_protocol"},
	{"REQUEST_SCHEME", "$scheme"},
	{"HTTPS", "$https", "if_not_empty"},
	{"GATEWAY_INTERFACE", "CGI/1.1"},
	{"SERVER_SOFTWARE", "nginx/$nginx_version"},
	{"REMOTE_ADDR", "$remote_addr"},
	{"REMOTE_PORT", "$remote_port"},
	{"REMOTE_USER", "$remote_user"},
	{"SERVER_ADDR", "$server_addr"},
	{"SERVER_PORT", "$server_port"},
	{"SERVER_NAME", "$server_name"},
	{"REDIRECT_STATUS", "200"},
}

// uwsgiParams are the uwsgi_param lines of uwsgi_params.
var uwsgiParams = [][]string{
	{"QUERY_STRING", "$query_string"},
	{"REQUEST_METHOD", "$request_method"},
	{"CONTENT_TYPE", "$content_type"},
	{"CONTENT_LENGTH", "$content_length"},
	{"REQUEST_URI", "$request_uri"},
	{"PATH_INFO", "$document_uri"},
	{"DOCUMENT_ROOT", "$document_root"},
	{"SERVER_PROTOCOL", "$server_protocol"},
	{"REQUEST_SCHEME", "$scheme"},
	{"HTTPS", "$https", "if_not_empty"},
	{"REMOTE_ADDR", "$remote_addr"},
	{"REMOTE_PORT", "$remote_port"},
	{"SERVER_PORT", "$server_port"},
	{"SERVER_NAME", "$server_name"},
}

// scgiParams are the scgi_param lines of scgi_params.
var scgiParams = [][]string{
	{"REQUEST_METHOD", "$request_method"},
	{"REQUEST_URI", "$request_uri"},
	{"QUERY_STRING", "$query_string"},
	{"CONTENT_TYPE", "$content_type"},
	{"DOCUMENT_URI", "$document_uri"},
	{"DOCUMENT_ROOT", "$document_root"},
	{"SCGI", "1"},
	{"SERVER_PROTOCOL", "$server_protocol"},
	{"REQUEST_SCHEME", "$scheme"},
	{"HTTPS", "$https", "if_not_empty"},
	{"REMOTE_ADDR", "$remote_addr"},
	{"REMOTE_PORT", "$remote_port"},
	{"SERVER_PORT", "$server_port"},
	{"SERVER_NAME", "$server_name"},
}

// mimeTypes is the types block of mime.types: a type and its extensions.
var mimeTypes = [][2]string{
	{"text/html", "html htm shtml"},
	{"text/css", "css"},
	{"text/xml", "xml"},
	{"image/gif", "gif"},
	{"image/jpeg", "jpeg jpg"},
	{"application/javascript", "js"},
	{"application/atom+xml", "atom"},
	{"application/rss+xml", "rss"},
	{"text/mathml", "mml"},
	{"text/plain", "txt"},
	{"text/vnd.sun.j2me.app-descriptor", "jad"},
	{"text/vnd.wap.wml", "wml"},
	{"text/x-component", "htc"},
	{"image/avif", "avif"},
	{"image/png", "png"},
	{"image/svg+xml", "svg svgz"},
	{"image/tiff", "tif tiff"},
	{"image/vnd.wap.wbmp", "wbmp"},
	{"image/webp", "webp"},
	{"image/x-icon", "ico"},
	{"image/x-jng", "jng"},
	{"image/x-ms-bmp", "bmp"},
	{"font/woff", "woff"},
	{"font/woff2", "woff2"},
	{"application/java-archive", "jar war ear"},
	{"application/json", "json"},
	{"application/mac-binhex40", "hqx"},
	{"application/msword", "doc"},
	{"application/pdf", "pdf"},
	{"application/postscript", "ps eps ai"},
	{"application/rtf", "rtf"},
	{"application/vnd.apple.mpegurl", "m3u8"},
	{"application/vnd.google-earth.kml+xml", "kml"},
	{"application/vnd.google-earth.kmz", "kmz"},
	{"application/vnd.ms-excel", "xls"},
	{"application/vnd.ms-fontobject", "eot"},
	{"application/vnd.ms-powerpoint", "ppt"},
	{"application/vnd.oasis.opendocument.graphics", "odg"},
	{"application/vnd.oasis.opendocument.presentation", "odp"},
	{"application/vnd.oasis.opendocument.spreadsheet", "ods"},
	{"application/vnd.oasis.opendocument.text", "odt"},
	{"application/vnd.openxmlformats-officedocument.presentationml.presentation", "pptx"},
	{"application/vnd.openxmlformats-officedocument.spreadsheetml.sheet", "xlsx"},
	{"application/vnd.openxmlformats-officedocument.wordprocessingml.document", "docx"},
	{"application/vnd.wap.wmlc", "wmlc"},
	{"application/wasm", "wasm"},
	{"application/x-7z-compressed", "7z"},
	{"application/x-cocoa", "cco"},
	{"application/x-java-archive-diff", "jardiff"},
	{"application/x-java-jnlp-file", "jnlp"},
	{"application/x-makeself", "run"},
	{"application/x-perl", "pl pm"},
	{"application/x-pilot", "prc pdb"},
	{"application/x-rar-compressed", "rar"},
	{"application/x-redhat-package-manager", "rpm"},
	{"application/x-sea", "sea"},
	{"application/x-shockwave-flash", "swf"},
	{"application/x-stuffit", "sit"},
	{"application/x-tcl", "tcl tk"},
	{"application/x-x509-ca-cert", "der pem crt"},
	{"application/x-xpinstall", "xpi"},
	{"application/xhtml+xml", "xhtml"},
	{"application/xspf+xml", "xspf"},
	{"application/zip", "zip"},
	{"application/octet-stream", "bin exe dll"},
	{"application/octet-stream", "deb"},
	{"application/octet-stream", "dmg"},
	{"application/octet-stream", "iso img"},
	{"application/octet-stream", "msi msp msm"},
	{"audio/midi", "mid midi kar"},
	{"audio/mpeg", "mp3"},
	{"audio/ogg", "ogg"},
	{"audio/x-m4a", "m4a"},
	{"audio/x-realaudio", "ra"},
	{"video/3gpp", "3gpp 3gp"},
	{"video/mp2t", "ts"},
	{"video/mp4", "mp4"},
	{"video/mpeg", "mpeg mpg"},
	{"video/quicktime", "mov"},
	{"video/webm", "webm"},
	{"video/x-flv", "flv"},
	{"video/x-m4v", "m4v"},
	{"video/x-mng", "mng"},
	{"video/x-ms-asf", "asx asf"},
	{"video/x-ms-wmv", "wmv"},
	{"video/x-msvideo", "avi"},
}
