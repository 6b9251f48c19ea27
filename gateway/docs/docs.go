package docs

import (
	"bytes"
	"crypto/sha256"
	"embed"
	"encoding/hex"
	"html/template"
	"io/fs"
	"mime"
	"net/http"
	"path"
	"sort"
	"strconv"
	"strings"
)

// assetsFS holds Swagger UI's files from swagger-ui-dist and our init.js.
//
//go:embed assets
var assetsFS embed.FS

const (
	// Prefix is the path under which Handler serves; mount Handler for both
	// Prefix and Prefix+"/" (for example on an http.ServeMux).
	Prefix = "/docs"

	assetPrefix = Prefix + "/assets/"

	// ContentSecurityPolicy is sent with every response of Handler. Swagger UI sets
	// style attributes at run time, hence 'unsafe-inline' for styles (never for scripts);
	// its icons are data: URIs.
	ContentSecurityPolicy = "default-src 'self'; img-src 'self' data:; style-src 'self' 'unsafe-inline'"

	pageCacheControl  = "no-cache"
	assetCacheControl = "public, max-age=31536000, immutable"
)

var pageTemplate = template.Must(template.New("docs").Parse(`<!DOCTYPE html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>Healthcore API</title>
<link rel="icon" href="data:,">
<link rel="stylesheet" href="/docs/assets/swagger-ui.css?v={{.Version}}">
<style>body { margin: 0; }</style>
</head>
<body>
<div id="swagger-ui" data-spec-url="{{.SpecURL}}"></div>
<script src="/docs/assets/swagger-ui-bundle.js?v={{.Version}}"></script>
<script src="/docs/assets/init.js?v={{.Version}}"></script>
</body>
</html>
`))

type handler struct {
	page  []byte
	etags map[string]string // asset name -> strong ETag
	files http.Handler
}

// Handler returns the handler for the API reference page. It serves:
//
//   - GET /docs and /docs/: an HTML page that runs Swagger UI against the OpenAPI
//     document at specURL (for example "/openapi.json"), with deep linking, "try it out"
//     and persisted authorization (a Bearer token pasted once survives reloads);
//   - GET /docs/assets/NAME: the embedded files, cached for a year as immutable (the page
//     references them with a content-hash query string, so a new build busts the cache).
//
// It expects the full request path (mount it at Prefix and Prefix+"/", not behind
// http.StripPrefix). Any other path answers 404, and any method but GET and HEAD on a
// served path answers 405. Every response carries ContentSecurityPolicy,
// X-Content-Type-Options: nosniff and Referrer-Policy: no-referrer.
func Handler(specURL string) http.Handler {
	assets, err := fs.Sub(assetsFS, "assets")
	if err != nil {
		panic("docs: " + err.Error()) // cannot happen: the directory is embedded
	}
	etags, version := digest(assets)

	var page bytes.Buffer
	err = pageTemplate.Execute(&page, struct{ SpecURL, Version string }{specURL, version})
	if err != nil {
		panic("docs: " + err.Error()) // cannot happen: fixed template, string fields
	}
	return &handler{
		page:  page.Bytes(),
		etags: etags,
		files: http.StripPrefix(assetPrefix, http.FileServerFS(assets)),
	}
}

func (h *handler) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	hdr := w.Header()
	hdr.Set("Content-Security-Policy", ContentSecurityPolicy)
	hdr.Set("X-Content-Type-Options", "nosniff")
	hdr.Set("Referrer-Policy", "no-referrer")

	p := r.URL.Path
	switch {
	case p == Prefix || p == Prefix+"/":
		if !allowed(w, r) {
			return
		}
		hdr.Set("Content-Type", "text/html; charset=utf-8")
		hdr.Set("Cache-Control", pageCacheControl)
		hdr.Set("Content-Length", strconv.Itoa(len(h.page)))
		if r.Method == http.MethodHead {
			w.WriteHeader(http.StatusOK)
			return
		}
		_, _ = w.Write(h.page)
	case strings.HasPrefix(p, assetPrefix):
		name := strings.TrimPrefix(p, assetPrefix)
		etag, ok := h.etags[name]
		if !ok { // also rules out directory listings and index.html redirects
			http.NotFound(w, r)
			return
		}
		if !allowed(w, r) {
			return
		}
		// http.FileServer keeps a Content-Type that is already set; setting it here makes
		// it independent of the host's MIME tables. The ETag makes revalidation cheap.
		hdr.Set("Content-Type", contentType(name))
		hdr.Set("Cache-Control", assetCacheControl)
		hdr.Set("ETag", etag)
		h.files.ServeHTTP(w, r)
	default:
		http.NotFound(w, r)
	}
}

// allowed reports whether r's method is GET or HEAD, and answers 405 if it is not.
func allowed(w http.ResponseWriter, r *http.Request) bool {
	if r.Method == http.MethodGet || r.Method == http.MethodHead {
		return true
	}
	w.Header().Set("Allow", "GET, HEAD")
	http.Error(w, http.StatusText(http.StatusMethodNotAllowed), http.StatusMethodNotAllowed)
	return false
}

func contentType(name string) string {
	switch ext := path.Ext(name); ext {
	case ".js":
		return "text/javascript; charset=utf-8"
	case ".css":
		return "text/css; charset=utf-8"
	case "", ".txt": // LICENSE, NOTICE, *.LICENSE.txt
		return "text/plain; charset=utf-8"
	default:
		if t := mime.TypeByExtension(ext); t != "" {
			return t
		}
		return "application/octet-stream"
	}
}

// digest returns a strong ETag for each regular file in fsys and a short hash of them all.
func digest(fsys fs.FS) (etags map[string]string, version string) {
	etags = make(map[string]string)
	var names []string
	err := fs.WalkDir(fsys, ".", func(name string, d fs.DirEntry, err error) error {
		if err != nil || !d.Type().IsRegular() {
			return err
		}
		names = append(names, name)
		return nil
	})
	if err != nil {
		panic("docs: " + err.Error()) // cannot happen: embedded files
	}
	sort.Strings(names)
	all := sha256.New()
	for _, name := range names {
		data, err := fs.ReadFile(fsys, name)
		if err != nil {
			panic("docs: " + err.Error())
		}
		sum := sha256.Sum256(data)
		etags[name] = `"` + hex.EncodeToString(sum[:16]) + `"`
		all.Write([]byte(name))
		all.Write(sum[:])
	}
	return etags, hex.EncodeToString(all.Sum(nil)[:8])
}
