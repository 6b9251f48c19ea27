package gateway

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"mime"
	"mime/multipart"
	"net"
	"net/http"
	"strconv"
	"strings"
	"unicode"
	"unicode/utf8"

	"github.com/grpc-ecosystem/grpc-gateway/v2/runtime"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/metadata"
	"google.golang.org/grpc/status"

	recordsv1 "healthcore/gen/healthcore/records/v1"
	"healthcore/platform/server"
)

// Record file routes. They stream: an upload's body goes to the records service in
// chunks as it arrives and a download's chunks go to the client as they come, so the
// edge holds at most one chunk of a file at a time.
const (
	uploadPath     = "/v1/records/documents:upload"
	documentPrefix = "/v1/records/documents/"
	downloadSuffix = ":download"

	defaultUploadMaxBytes = 64 << 20
	// uploadChunkBytes is the records service's largest chunk.
	uploadChunkBytes = 1 << 20
	// maxFormField caps each multipart field besides the file.
	maxFormField = 1 << 10
)

// recordFiles answers the upload and download routes (ahead of the grpc-gateway mux and
// of limitBody) and passes every other request to next. Without a records upstream it
// is next itself.
func (g *Gateway) recordFiles(next http.Handler) http.Handler {
	if g.records == nil {
		return next
	}
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		p := r.URL.Path
		switch {
		case p == uploadPath:
			if r.Method != http.MethodPost {
				methodNotAllowed(w, r, []string{http.MethodPost})
				return
			}
			g.upload(w, r)
		case strings.HasPrefix(p, documentPrefix) && strings.HasSuffix(p, downloadSuffix) &&
			!strings.Contains(p[len(documentPrefix):], "/"):
			if r.Method != http.MethodGet {
				methodNotAllowed(w, r, []string{http.MethodGet})
				return
			}
			g.download(w, r, strings.TrimSuffix(p[len(documentPrefix):], downloadSuffix))
		default:
			next.ServeHTTP(w, r)
		}
	})
}

// outgoing is the call context of a record file route: the client's credentials,
// request id and address travel as gRPC metadata, as grpc-gateway sends them.
func outgoing(ctx context.Context, r *http.Request) context.Context {
	var pairs []string
	if a := r.Header.Get("Authorization"); a != "" {
		pairs = append(pairs, "authorization", a)
	}
	if id := r.Header.Get(server.RequestIDHeader); id != "" {
		pairs = append(pairs, strings.ToLower(server.RequestIDHeader), id)
	}
	if host, _, err := net.SplitHostPort(r.RemoteAddr); err == nil && host != "" {
		fwd := host
		if prev := strings.Join(r.Header.Values("X-Forwarded-For"), ", "); prev != "" {
			fwd = prev + ", " + host
		}
		pairs = append(pairs, "x-forwarded-for", fwd)
	}
	if r.Host != "" {
		pairs = append(pairs, "x-forwarded-host", r.Host)
	}
	return metadata.NewOutgoingContext(ctx, metadata.Pairs(pairs...))
}

// callError answers a failed call the way the grpc-gateway routes do.
func (g *Gateway) callError(w http.ResponseWriter, r *http.Request, err error) {
	_, m := runtime.MarshalerForRequest(g.mux, r)
	g.errorHandler(r.Context(), g.mux, m, w, r, err)
}

// upload streams a document to the records service. The body is the file itself, its
// Content-Type the document's type and the metadata query parameters; or a
// multipart/form-data body with the metadata fields first and then one "file" part.
func (g *Gateway) upload(w http.ResponseWriter, r *http.Request) {
	limit := g.opts.UploadMaxBytes
	if r.ContentLength > limit {
		bodyTooLarge(w, r, limit)
		return
	}
	r.Body = http.MaxBytesReader(w, r.Body, limit)

	q := r.URL.Query()
	if unknown := unknownKeys(q, "title", "kind", "examDate", "exam_date", "groupId", "group_id"); len(unknown) > 0 {
		g.callError(w, r, unknownParamsError(unknown))
		return
	}
	field := func(names ...string) string {
		for _, n := range names {
			if v := q.Get(n); v != "" {
				return v
			}
		}
		return ""
	}
	fields := map[string]string{
		"title": field("title"), "kind": field("kind"),
		"examDate": field("examDate", "exam_date"), "groupId": field("groupId", "group_id"),
	}
	mediaType, params, err := mime.ParseMediaType(r.Header.Get("Content-Type"))
	if err != nil {
		badRequest(w, r, "Content-Type", "Content-Type must name the document's type (e.g. application/pdf)")
		return
	}
	var body io.Reader = r.Body
	if mediaType == "multipart/form-data" {
		if params["boundary"] == "" {
			badRequest(w, r, "Content-Type", "multipart/form-data needs a boundary")
			return
		}
		file, ctype, ok := g.multipartFile(w, r, fields)
		if !ok {
			return
		}
		if mediaType, _, err = mime.ParseMediaType(ctype); err != nil {
			badRequest(w, r, "file", `the "file" part needs a Content-Type naming the document's type (e.g. application/pdf)`)
			return
		}
		body = file
	}
	kind, ok := parseKind(fields["kind"])
	if !ok {
		badRequest(w, r, "kind", "kind must be one of EXAM, REPORT, IMAGE, PRESCRIPTION, OTHER")
		return
	}
	md := &recordsv1.UploadMetadata{
		Title: fields["title"], Kind: kind, ExamDate: fields["examDate"],
		ContentType: mediaType, GroupId: fields["groupId"],
	}

	ctx, cancel := context.WithCancel(outgoing(r.Context(), r))
	defer cancel()
	stream, err := g.records.UploadDocument(ctx)
	if err != nil {
		g.callError(w, r, err)
		return
	}
	finish := func() {
		resp, err := stream.CloseAndRecv()
		if err != nil {
			g.callError(w, r, err)
			return
		}
		out, err := answerJSON.Marshal(resp)
		if err != nil {
			g.callError(w, r, status.Error(codes.Internal, "cannot encode the answer"))
			return
		}
		w.Header().Set("Content-Type", "application/json")
		w.WriteHeader(http.StatusOK)
		_, _ = w.Write(out)
	}
	if err := stream.Send(&recordsv1.UploadDocumentRequest{Part: &recordsv1.UploadDocumentRequest_Metadata{Metadata: md}}); err != nil {
		finish() // the service ended the call; its status says why
		return
	}
	sum := sha256.New()
	var size int64
	buf := make([]byte, uploadChunkBytes)
	for {
		n, rerr := io.ReadFull(body, buf)
		if n > 0 {
			sum.Write(buf[:n])
			size += int64(n)
			// Send encodes the message before returning, so buf may be reused.
			if err := stream.Send(&recordsv1.UploadDocumentRequest{Part: &recordsv1.UploadDocumentRequest_Chunk{Chunk: buf[:n]}}); err != nil {
				finish()
				return
			}
		}
		if rerr == io.EOF || rerr == io.ErrUnexpectedEOF {
			break
		}
		if rerr != nil {
			// A body cut short must never become a document: the call is cancelled
			// before any trailer, so the service discards what it received.
			cancel()
			if _, over := errors.AsType[*http.MaxBytesError](rerr); over {
				bodyTooLarge(w, r, limit)
				return
			}
			g.opts.Logger.WarnContext(r.Context(), "upload body cut short", slog.Int64("received", size), slog.String("error", rerr.Error()))
			badRequest(w, r, "file", "the request body was cut short")
			return
		}
	}
	// A multipart body must end properly after the file, or it was cut short.
	if mp, ok := body.(*multipartBody); ok {
		if err := mp.finish(); err != nil {
			cancel()
			if _, over := errors.AsType[*http.MaxBytesError](err); over {
				bodyTooLarge(w, r, limit)
				return
			}
			badRequest(w, r, "file", "malformed multipart body: "+err.Error())
			return
		}
	}
	trailer := &recordsv1.UploadTrailer{Size: size, Sha256: hex.EncodeToString(sum.Sum(nil))}
	_ = stream.Send(&recordsv1.UploadDocumentRequest{Part: &recordsv1.UploadDocumentRequest_Trailer{Trailer: trailer}})
	finish()
}

// multipartBody is the "file" part of a multipart upload; finish checks that the rest
// of the body is well formed (only other fields may follow, and are ignored).
type multipartBody struct {
	*multipart.Part
	mr *multipart.Reader
}

func (b *multipartBody) finish() error {
	for {
		p, err := b.mr.NextPart()
		if err == io.EOF {
			return nil
		}
		if err != nil {
			return err
		}
		if p.FormName() == "file" {
			return errors.New(`more than one "file" part`)
		}
		if _, err := io.Copy(io.Discard, io.LimitReader(p, maxFormField+1)); err != nil {
			return err
		}
	}
}

// multipartFile reads the fields before the "file" part into fields (overriding query
// parameters) and returns the file part and its content type. On failure it has
// answered.
func (g *Gateway) multipartFile(w http.ResponseWriter, r *http.Request, fields map[string]string) (io.Reader, string, bool) {
	mr, err := r.MultipartReader()
	if err != nil {
		badRequest(w, r, "Content-Type", "malformed multipart body")
		return nil, "", false
	}
	names := map[string]string{"title": "title", "kind": "kind", "examDate": "examDate", "exam_date": "examDate", "groupId": "groupId", "group_id": "groupId"}
	for {
		p, err := mr.NextPart()
		if err == io.EOF {
			badRequest(w, r, "file", `the multipart body has no "file" part`)
			return nil, "", false
		}
		if err != nil {
			if _, over := errors.AsType[*http.MaxBytesError](err); over {
				bodyTooLarge(w, r, g.opts.UploadMaxBytes)
				return nil, "", false
			}
			badRequest(w, r, "file", "malformed multipart body")
			return nil, "", false
		}
		if p.FormName() == "file" {
			if fields["title"] == "" {
				// A file name is the sender's device's, not typed for us: its
				// bidirectional controls (records refuses them in titles) are dropped.
				fields["title"] = withoutBidiControls(p.FileName())
			}
			return &multipartBody{Part: p, mr: mr}, p.Header.Get("Content-Type"), true
		}
		v, err := io.ReadAll(io.LimitReader(p, maxFormField+1))
		if err != nil || len(v) > maxFormField {
			badRequest(w, r, p.FormName(), fmt.Sprintf("multipart field %q is too long or cut short", p.FormName()))
			return nil, "", false
		}
		if name, ok := names[p.FormName()]; ok {
			fields[name] = string(v)
		}
	}
}

// parseKind accepts EXAM or DOCUMENT_KIND_EXAM (any case); empty is UNSPECIFIED,
// which the service refuses with its own field violation.
func parseKind(s string) (recordsv1.DocumentKind, bool) {
	if s == "" {
		return recordsv1.DocumentKind_DOCUMENT_KIND_UNSPECIFIED, true
	}
	s = strings.ToUpper(strings.TrimSpace(s))
	if !strings.HasPrefix(s, "DOCUMENT_KIND_") {
		s = "DOCUMENT_KIND_" + s
	}
	v, ok := recordsv1.DocumentKind_value[s]
	if !ok || v == 0 {
		return 0, false
	}
	return recordsv1.DocumentKind(v), true
}

// download streams a document to the client (see sendFile).
func (g *Gateway) download(w http.ResponseWriter, r *http.Request, id string) {
	if unknown := unknownKeys(r.URL.Query()); len(unknown) > 0 {
		g.callError(w, r, unknownParamsError(unknown))
		return
	}
	ctx, cancel := context.WithCancel(outgoing(r.Context(), r))
	defer cancel()
	stream, err := g.records.DownloadDocument(ctx, &recordsv1.DownloadDocumentRequest{DocumentId: id})
	if err != nil {
		g.callError(w, r, err)
		return
	}
	sendFile(g, w, r, cancel, stream, func(m *recordsv1.DownloadDocumentResponse) (file, bool) {
		doc := m.GetDocument()
		return file{contentType: doc.GetContentType(), size: doc.GetSizeBytes(), disposition: attachment(doc.GetTitle(), doc.GetContentType())}, doc != nil
	}, (*recordsv1.DownloadDocumentResponse).GetChunk)
}

// file describes a streamed download: the first message of its stream says it.
type file struct {
	contentType string
	size        int64
	disposition string
}

// sendFile streams a file to the client from a service's stream whose first message
// describes it (describe) and whose messages carry its bytes (chunk). Errors before
// the first byte are JSON errors; an error after it aborts the response, so a
// truncated file never looks whole. The edge holds one chunk at a time.
func sendFile[M any](g *Gateway, w http.ResponseWriter, r *http.Request, cancel context.CancelFunc,
	stream interface{ Recv() (M, error) }, describe func(M) (file, bool), chunk func(M) []byte) {
	first, err := stream.Recv()
	if err == io.EOF {
		err = status.Error(codes.Internal, "the service sent no file")
	}
	if err != nil {
		g.callError(w, r, err)
		return
	}
	f, ok := describe(first)
	if !ok {
		g.callError(w, r, status.Error(codes.Internal, "the service sent no file"))
		return
	}
	h := w.Header()
	if f.contentType == "" {
		f.contentType = "application/octet-stream"
	}
	h.Set("Content-Type", f.contentType)
	h.Set("Content-Length", strconv.FormatInt(f.size, 10))
	h.Set("Content-Disposition", f.disposition)
	h.Set("X-Content-Type-Options", "nosniff")
	h.Set("Cache-Control", "no-store")
	w.WriteHeader(http.StatusOK)

	abort := func(reason string, err error) {
		cancel()
		g.opts.Logger.WarnContext(r.Context(), "download aborted", slog.String("reason", reason), slog.Any("error", err))
		panic(http.ErrAbortHandler)
	}
	var sent int64
	write := func(p []byte) bool {
		if sent+int64(len(p)) > f.size {
			abort("more bytes than the file's size", nil)
		}
		sent += int64(len(p))
		_, err := w.Write(p)
		return err == nil
	}
	if !write(chunk(first)) {
		return
	}
	for {
		msg, err := stream.Recv()
		if err == io.EOF {
			break
		}
		if err != nil && r.Context().Err() != nil {
			// The client closed the connection. Having read every byte it may do so
			// before the stream's end reaches the edge: that download is complete.
			if sent != f.size {
				g.opts.Logger.InfoContext(r.Context(), "download left by the client",
					slog.Int64("sent", sent), slog.Int64("size", f.size))
			}
			return
		}
		if err != nil {
			abort("the stream failed", err)
		}
		if !write(chunk(msg)) {
			return // the client left
		}
	}
	if sent != f.size {
		abort("fewer bytes than the file's size", nil)
	}
}

// extensions are the file name extensions of the accepted content types.
var extensions = map[string]string{
	"application/pdf": ".pdf", "image/jpeg": ".jpg", "image/png": ".png", "image/webp": ".webp", "application/dicom": ".dcm",
}

// withoutBidiControls drops the bidirectional control characters (U+202E and the
// rest), with which "exame\u202Efdp.exe" shows as "exameexe.pdf".
func withoutBidiControls(s string) string {
	return strings.Map(func(r rune) rune {
		if unicode.Is(unicode.Bidi_Control, r) {
			return -1
		}
		return r
	}, s)
}

// attachment is a Content-Disposition naming the file after the title: an ASCII
// fallback in filename and the UTF-8 name in filename* (RFC 6266, RFC 8187), with no
// path separators, control, quoting or invisible formatting characters (U+202E and the
// other bidirectional controls, zero-width spaces and joiners: a title stored before
// records refused them must not disguise the saved file's type).
func attachment(title, contentType string) string {
	var b strings.Builder
	for _, c := range title {
		switch {
		case unicode.IsControl(c) || unicode.Is(unicode.Cf, c) || c == utf8.RuneError:
		case strings.ContainsRune(`/\:*?"<>|;,%`, c) || unicode.IsSpace(c) && c != ' ':
			b.WriteRune('_')
		default:
			b.WriteRune(c)
		}
	}
	name := strings.Trim(b.String(), " .")
	if r := []rune(name); len(r) > 120 {
		name = strings.TrimRight(string(r[:120]), " .")
	}
	if name == "" {
		name = "document"
	}
	if ext := extensions[contentType]; ext != "" && !strings.HasSuffix(strings.ToLower(name), ext) &&
		!(ext == ".jpg" && strings.HasSuffix(strings.ToLower(name), ".jpeg")) {
		name += ext
	}
	var fb strings.Builder
	for _, c := range name {
		if c < 0x80 && c >= 0x20 && c != 0x7f {
			fb.WriteRune(c)
		} else {
			fb.WriteByte('_')
		}
	}
	var enc strings.Builder
	for _, c := range []byte(name) {
		if c < 0x80 && (c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' || strings.IndexByte("!#$&+-.^_`|~", c) >= 0) {
			enc.WriteByte(c)
		} else {
			fmt.Fprintf(&enc, "%%%02X", c)
		}
	}
	return `attachment; filename="` + fb.String() + `"; filename*=UTF-8''` + enc.String()
}
