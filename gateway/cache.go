package gateway

import (
	"encoding/base64"
	"encoding/binary"
	"fmt"
	"net/http"
	"net/url"
	"slices"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/cespare/xxhash/v2"
	"github.com/grpc-ecosystem/grpc-gateway/v2/runtime"
	lru "github.com/hashicorp/golang-lru/v2"
	"github.com/prometheus/client_golang/prometheus"
	"google.golang.org/genproto/googleapis/api/annotations"
	"google.golang.org/protobuf/proto"
	"google.golang.org/protobuf/reflect/protoreflect"

	"healthcore/platform/authn"
)

// PublicReads are the RPCs whose REST answers are the same for every caller, and how
// long (max-age) a CDN, a browser or the app may keep one. Each must be a public RPC
// (its access rule says so, and New checks it) with a GET route; the services never
// read the caller's token on them (a token sent is ignored by their answers), so the
// edge answers them with a strong ETag and Cache-Control: public. Slots change as soon
// as someone books, so theirs is kept a few seconds only; search and a profile change
// when a doctor edits a profile or is listed or unlisted; the specialties only with a
// release.
var PublicReads = map[protoreflect.FullName]time.Duration{
	"healthcore.directory.v1.DirectoryService.ListSpecialties":      time.Hour,
	"healthcore.directory.v1.DirectoryService.GetDoctor":            time.Minute,
	"healthcore.directory.v1.DirectoryService.SearchDoctors":        30 * time.Second,
	"healthcore.scheduling.v1.SchedulingService.ListAvailableSlots": 5 * time.Second,
}

// DefaultCacheEntries is how many answers' versions (ETag and freshness) the edge
// keeps when Options.CacheEntries is zero.
const DefaultCacheEntries = 10_000

// cacheRoutes maps the public reads' routes, keyed by method and pattern as
// runtime.Pattern.String prints it ("GET /v1/doctors/{doctor_id=*}"), to their
// Cache-Control value. It fails when a listed RPC is not public or has no GET route.
func cacheRoutes(services []string) (map[string]string, error) {
	out := map[string]string{}
	methods, err := methodsOf(services)
	if err != nil {
		return nil, err
	}
	for _, md := range methods {
		maxAge, ok := PublicReads[md.FullName()]
		if !ok {
			continue
		}
		if !authn.RuleOf(md).GetPublic() {
			return nil, fmt.Errorf("%s is listed as a public read but its access rule is not public", md.FullName())
		}
		rule, _ := proto.GetExtension(md.Options(), annotations.E_Http).(*annotations.HttpRule)
		method, template := HTTPRule(rule)
		if method != http.MethodGet {
			return nil, fmt.Errorf("%s is listed as a public read but has no GET route", md.FullName())
		}
		out[method+" "+pathVar.ReplaceAllStringFunc(template, starVar)] = "public, max-age=" + strconv.Itoa(int(maxAge.Seconds()))
	}
	return out, nil
}

// version is what the edge knows of a public read's current answer: its ETag, when
// it was seen, and until when it is fresh; and, when the edge keeps answers
// (Options.CacheBytes), the answer's body and the headers its route set on it.
type version struct {
	etag       string
	seen, till time.Time
	body       []byte
	header     http.Header
}

// httpCache gives the public reads an ETag and Cache-Control, and answers a request
// whose If-None-Match names the version it knows to be current (still fresh) with 304
// without calling the service. With a byte budget it is also what a CDN would be in
// front of the edge, a shared cache: while a version is fresh, a request without a
// matching If-None-Match gets the kept answer, with its Age, without calling the
// service — the staleness the answer's own max-age already allows any cache.
type httpCache struct {
	routes   map[string]string // "GET /v1/doctors" → "public, max-age=30"
	maxAge   map[string]time.Duration
	versions *lru.Cache[string, version] // by path and canonical query
	now      func() time.Time

	maxBytes int64        // bodies kept, in all; 0 keeps none
	bytes    atomic.Int64 // bodies kept now
	mu       sync.Mutex   // one store at a time, so bytes follows what versions holds

	// How the public reads were answered (nil without a Registerer).
	notModifiedAnswers, keptAnswers, serviceAnswers prometheus.Counter
}

// Kept answers larger than a sixteenth of the budget are not kept: a few large pages
// would push out many small ones.
const cacheBodyShare = 16

func newHTTPCache(routes map[string]string, entries int, maxBytes int64, reg prometheus.Registerer) (*httpCache, error) {
	if entries <= 0 {
		entries = DefaultCacheEntries
	}
	c := &httpCache{routes: routes, maxAge: map[string]time.Duration{}, now: time.Now, maxBytes: max(maxBytes, 0)}
	versions, err := lru.NewWithEvict(entries, func(_ string, v version) { c.bytes.Add(-int64(len(v.body))) })
	if err != nil {
		return nil, err
	}
	c.versions = versions
	if reg != nil {
		answers := prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "healthcore_gateway_cache_answers_total",
			Help: "Public reads answered at the edge, by how: not_modified (304 from a known version), kept (a kept answer) or service (the service answered).",
		}, []string{"result"})
		if err := reg.Register(answers); err != nil {
			return nil, err
		}
		c.notModifiedAnswers = answers.WithLabelValues("not_modified")
		c.keptAnswers = answers.WithLabelValues("kept")
		c.serviceAnswers = answers.WithLabelValues("service")
	}
	for k, cc := range routes {
		secs, _ := strconv.Atoi(strings.TrimPrefix(cc, "public, max-age="))
		c.maxAge[k] = time.Duration(secs) * time.Second
	}
	return c, nil
}

// middleware is the grpc-gateway middleware (only there is the route's pattern known).
func (c *httpCache) middleware(next runtime.HandlerFunc) runtime.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request, params map[string]string) {
		if r.Method != http.MethodGet {
			next(w, r, params)
			return
		}
		pat, ok := runtime.HTTPPattern(r.Context())
		if !ok {
			next(w, r, params)
			return
		}
		route := r.Method + " " + pat.String()
		cc, ok := c.routes[route]
		if !ok {
			next(w, r, params)
			return
		}
		key := cacheKey(r.URL)
		inm := r.Header.Get("If-None-Match")
		now := c.now()
		if !wantsRevalidation(r.Header) {
			if v, ok := c.versions.Get(key); ok && now.Before(v.till) {
				switch {
				case inm != "" && etagListed(inm, v.etag):
					count(c.notModifiedAnswers)
					notModified(w, v.etag, cc, now.Sub(v.seen))
					return
				case v.header != nil:
					count(c.keptAnswers)
					kept(w, v, cc, now.Sub(v.seen))
					return
				}
			}
		}
		var outer map[string]bool // the outer layers' headers, only when answers are kept
		if c.maxBytes > 0 {
			outer = make(map[string]bool, len(w.Header()))
			for k := range w.Header() {
				outer[k] = true
			}
		}
		buf := &bufferedAnswer{ResponseWriter: w, status: http.StatusOK}
		count(c.serviceAnswers)
		next(buf, r, params)
		if buf.status != http.StatusOK {
			// An error (or another status) passes as it is, with the no-store it has.
			buf.flush()
			return
		}
		etag := entityTag(buf.body)
		c.store(key, version{etag: etag, seen: now, till: now.Add(c.maxAge[route])}, buf.body, w.Header(), outer)
		if inm != "" && etagListed(inm, etag) {
			notModified(w, etag, cc, 0)
			return
		}
		h := w.Header()
		setCacheHeaders(h, etag, cc)
		if h.Get("Transfer-Encoding") == "" { // grpc-gateway chunks when the client asked for trailers
			h.Set("Content-Length", strconv.Itoa(len(buf.body)))
		}
		buf.flush()
	}
}

// count adds one to c when the edge records metrics.
func count(c prometheus.Counter) {
	if c != nil {
		c.Inc()
	}
}

// store remembers v under key, with the answer's body and the headers its route set
// (those not in outer, which the edge's outer layers set on every request: CORS,
// security, request id) when the budget allows. An answer sent with trailers (a client
// that asked for them) is not kept: a kept answer is replayed without them.
func (c *httpCache) store(key string, v version, body []byte, h http.Header, outer map[string]bool) {
	size := int64(len(body))
	if c.maxBytes > 0 && size <= c.maxBytes/cacheBodyShare && h.Get("Trailer") == "" && h.Get("Transfer-Encoding") == "" {
		v.body = body
		v.header = http.Header{}
		for k, vals := range h {
			if !outer[k] && !replayedByTheEdge[k] {
				v.header[k] = slices.Clone(vals)
			}
		}
	} else {
		size = 0
	}
	if c.maxBytes == 0 {
		c.versions.Add(key, v) // no bodies: nothing to account for
		return
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	if old, ok := c.versions.Peek(key); ok {
		c.bytes.Add(-int64(len(old.body))) // Add replaces it without the eviction callback
	}
	c.versions.Add(key, v)
	c.bytes.Add(size)
	for c.bytes.Load() > c.maxBytes {
		if _, _, ok := c.versions.RemoveOldest(); !ok {
			break
		}
	}
}

// replayedByTheEdge are the headers a kept answer gets anew on each replay, never from
// the copy.
var replayedByTheEdge = map[string]bool{
	"Etag": true, "Cache-Control": true, "Vary": true, "Age": true,
	"Content-Length": true, "Transfer-Encoding": true, "Trailer": true,
}

// kept answers with a kept version's body: its route's headers, the cache headers, and
// the Age of the copy.
func kept(w http.ResponseWriter, v version, cacheControl string, age time.Duration) {
	h := w.Header()
	for k, vals := range v.header {
		h[k] = slices.Clone(vals) // the outer layers may append to a value
	}
	setCacheHeaders(h, v.etag, cacheControl)
	h.Set("Age", strconv.Itoa(int(age.Seconds())))
	h.Set("Content-Length", strconv.Itoa(len(v.body)))
	w.WriteHeader(http.StatusOK)
	_, _ = w.Write(v.body)
}

// entityTag is the strong ETag of an answer's body: its 64-bit xxHash, the same in
// every replica of the edge. An ETag only tells one version of a URL's answer from the
// next, which 64 bits do with a chance of 2⁻⁶⁴ of missing a change; a cryptographic
// hash (SHA-256 was 5 % of the edge's CPU a search) buys nothing here, as nobody gains
// from forging a collision with a public answer.
func entityTag(body []byte) string {
	var sum [8]byte
	binary.BigEndian.PutUint64(sum[:], xxhash.Sum64(body))
	return `"` + base64.RawURLEncoding.EncodeToString(sum[:]) + `"`
}

// setCacheHeaders marks a public read's answer cacheable. It varies with Origin
// whether or not this request sent one: the CORS headers do, and a shared cache must
// not hand a browser the answer it kept for a request without Origin.
func setCacheHeaders(h http.Header, etag, cacheControl string) {
	h.Set("ETag", etag)
	h.Set("Cache-Control", cacheControl)
	for _, v := range h.Values("Vary") {
		for _, f := range strings.Split(v, ",") {
			if strings.EqualFold(strings.TrimSpace(f), "Origin") {
				return
			}
		}
	}
	h.Add("Vary", "Origin")
}

// notModified answers 304: no body, the same ETag and Cache-Control, and the Age of
// the version the edge knew.
func notModified(w http.ResponseWriter, etag, cacheControl string, age time.Duration) {
	h := w.Header()
	setCacheHeaders(h, etag, cacheControl)
	if age >= time.Second {
		h.Set("Age", strconv.Itoa(int(age.Seconds())))
	}
	for _, k := range []string{"Content-Type", "Content-Length", "Transfer-Encoding", "Trailer"} {
		h.Del(k)
	}
	w.WriteHeader(http.StatusNotModified)
}

// cacheKey is a request's path and its query with the parameters sorted, so that
// one search asked in two orders shares a version.
func cacheKey(u *url.URL) string {
	if u.RawQuery == "" {
		return u.EscapedPath()
	}
	return u.EscapedPath() + "?" + u.Query().Encode()
}

// wantsRevalidation is true when the client asks for an answer checked with the
// origin (Cache-Control: no-cache or max-age=0, or Pragma: no-cache).
func wantsRevalidation(h http.Header) bool {
	for _, v := range h.Values("Cache-Control") {
		for _, d := range strings.Split(v, ",") {
			d = strings.ToLower(strings.TrimSpace(d))
			if d == "no-cache" || d == "max-age=0" {
				return true
			}
		}
	}
	return h.Get("Cache-Control") == "" && strings.EqualFold(strings.TrimSpace(h.Get("Pragma")), "no-cache")
}

// etagListed reports whether an If-None-Match value names etag: "*", or a list of
// entity tags compared weakly (RFC 9110 §13.1.2: W/"x" matches "x").
func etagListed(inm, etag string) bool {
	want := strings.TrimPrefix(etag, "W/")
	for inm = strings.TrimSpace(inm); inm != ""; inm = strings.TrimSpace(inm) {
		if inm[0] == ',' {
			inm = inm[1:]
			continue
		}
		if inm[0] == '*' {
			return true
		}
		tag := strings.TrimPrefix(inm, "W/")
		if len(tag) < 2 || tag[0] != '"' {
			return false // malformed: nothing matches
		}
		end := strings.IndexByte(tag[1:], '"')
		if end < 0 {
			return false
		}
		if tag[:end+2] == want {
			return true
		}
		inm = tag[end+2:]
	}
	return false
}

// bufferedAnswer keeps a route's answer, so its ETag is known before anything is
// sent (and webSession can move the refresh token out of it). Headers go to the real writer's map directly.
type bufferedAnswer struct {
	http.ResponseWriter
	status int
	wrote  bool
	body   []byte
}

func (b *bufferedAnswer) WriteHeader(code int) {
	if !b.wrote {
		b.status, b.wrote = code, true
	}
}

func (b *bufferedAnswer) Write(p []byte) (int, error) {
	b.wrote = true
	b.body = append(b.body, p...)
	return len(p), nil
}

// flush sends the kept answer.
func (b *bufferedAnswer) flush() {
	b.ResponseWriter.WriteHeader(b.status)
	if len(b.body) > 0 {
		_, _ = b.ResponseWriter.Write(b.body)
	}
}
