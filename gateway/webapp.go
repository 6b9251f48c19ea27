package gateway

import (
	"io"
	"io/fs"
	"mime"
	"net/http"
	"path"
	"slices"
	"strings"
)

// WebContentSecurityPolicy is sent with every page and file of the web app: scripts,
// styles and API calls from the edge's own origin only (no inline script or style, so
// an injected tag runs nothing), images also as data: URIs (the PIX QR code is a
// base64 PNG), frames of the development video room only (the meetings service's
// local driver, a Jitsi Meet room on meet.jit.si, shown inside the consultation page),
// no frames of the app anywhere, no <base> and forms posting only here. With the
// production driver (Amazon Chime) the consultation page runs amazon-chime-sdk-js,
// which needs chimeConnect and chimeWorker; the edge does not know which driver the
// meetings service runs, so they are always allowed, and nothing wider.
const WebContentSecurityPolicy = "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; " +
	"connect-src 'self' " + chimeConnect + "; worker-src " + chimeWorker + "; frame-src https://meet.jit.si; " +
	"frame-ancestors 'none'; base-uri 'none'; form-action 'self'"

const (
	// chimeConnect is where the Chime SDK talks: the meeting's MediaPlacement URLs, all
	// under chime.aws — the signalling and audio-fallback WebSockets
	// (wss://signal.….app.chime.aws, wss://haxrp.….app.chime.aws), the TURN credentials
	// (https://….meetings.chime.aws) and the client events (https://data.svc.….ingest.chime.aws).
	chimeConnect = "wss://*.chime.aws https://*.chime.aws"
	// chimeWorker lets the SDK start its encoded-transform worker (audio redundancy),
	// which it builds from its own code as a blob: URL.
	chimeWorker = "'self' blob:"
)

const (
	// webAssetsDir holds Vite's content-hashed files: a new build names them anew,
	// so browsers may keep them for a year without asking.
	webAssetsDir      = "assets/"
	webAssetCache     = "public, max-age=31536000, immutable"
	webPageCache      = "no-cache"
	webIndex          = "index.html"
	webReferrerPolicy = "same-origin"
)

// apiPrefixes and apiPaths are the paths the app never answers: an unknown path under
// them is the API's 404 (ROUTE_NOT_FOUND), not the app's page. The ops listener's
// paths are among them, so the public edge keeps answering them 404, as before.
var (
	apiPrefixes = []string{"/v1/", "/webhooks/", "/.well-known/", "/dev/", "/docs/", "/debug/"}
	apiPaths    = []string{"/v1", "/metrics"}
)

// webApp serves the built web app from files (index.html at its root, hashed files
// under assets/) for GET and HEAD of any path that is not the API's: a file that
// exists is sent as is, any other path gets index.html, whose script routes it in the
// browser (a bookmark of /app/doctors/… loads the app). Everything else goes to api.
func webApp(files fs.FS, api http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		p := r.URL.Path
		if files == nil || (r.Method != http.MethodGet && r.Method != http.MethodHead) || isAPIPath(p) {
			api.ServeHTTP(w, r)
			return
		}
		h := w.Header()
		h.Set("Content-Security-Policy", WebContentSecurityPolicy)
		h.Set("Referrer-Policy", webReferrerPolicy)
		name := strings.TrimPrefix(path.Clean(p), "/")
		if name == "" || name == webIndex || !isFile(files, name) {
			name = webIndex
		}
		if strings.HasPrefix(name, webAssetsDir) {
			h.Set("Cache-Control", webAssetCache)
		} else {
			h.Set("Cache-Control", webPageCache)
		}
		serveWebFile(w, r, files, name)
	})
}

// serveWebFile sends one file with its type (Go's own table for the web's types, not
// the host's), answering Range and If-Modified-Since as http.ServeContent does.
func serveWebFile(w http.ResponseWriter, r *http.Request, files fs.FS, name string) {
	f, err := files.Open(name)
	if err != nil {
		routeNotFound(w, r)
		return
	}
	defer f.Close()
	st, err := f.Stat()
	rs, seekable := f.(io.ReadSeeker)
	if err != nil || !seekable {
		routeNotFound(w, r)
		return
	}
	ct := mime.TypeByExtension(path.Ext(name))
	if ct == "" {
		ct = "application/octet-stream"
	}
	w.Header().Set("Content-Type", ct)
	http.ServeContent(w, r, name, st.ModTime(), rs)
}

func isAPIPath(p string) bool {
	if slices.Contains(apiPaths, p) {
		return true
	}
	for _, pre := range apiPrefixes {
		if strings.HasPrefix(p, pre) {
			return true
		}
	}
	return false
}

// isFile reports whether name is a regular file in files (a folder is not: it falls
// back to the page, as an unknown path does).
func isFile(files fs.FS, name string) bool {
	st, err := fs.Stat(files, name)
	return err == nil && st.Mode().IsRegular()
}
