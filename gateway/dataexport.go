package gateway

import (
	"context"
	"net/http"
	"strings"

	identityv1 "healthcore/gen/healthcore/identity/v1"
)

// The data export download route (LGPD art. 18): the archive streams from identity,
// which opens it chunk by chunk, to the client, as a record document does.
const exportPrefix = "/v1/me/data-exports/"

// exportFiles answers the data export download route and passes every other request
// to next. Without an identity upstream it is next itself.
func (g *Gateway) exportFiles(next http.Handler) http.Handler {
	if g.identity == nil {
		return next
	}
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		p := r.URL.Path
		if !strings.HasPrefix(p, exportPrefix) || !strings.HasSuffix(p, downloadSuffix) ||
			strings.Contains(p[len(exportPrefix):], "/") {
			next.ServeHTTP(w, r)
			return
		}
		if r.Method != http.MethodGet {
			methodNotAllowed(w, r, []string{http.MethodGet})
			return
		}
		g.downloadExport(w, r, strings.TrimSuffix(p[len(exportPrefix):], downloadSuffix))
	})
}

// downloadExport streams a data export's archive (a zip) to the client.
func (g *Gateway) downloadExport(w http.ResponseWriter, r *http.Request, id string) {
	if unknown := unknownKeys(r.URL.Query()); len(unknown) > 0 {
		g.callError(w, r, unknownParamsError(unknown))
		return
	}
	ctx, cancel := context.WithCancel(outgoing(r.Context(), r))
	defer cancel()
	stream, err := g.identity.DownloadDataExport(ctx, &identityv1.DownloadDataExportRequest{ExportId: id})
	if err != nil {
		g.callError(w, r, err)
		return
	}
	sendFile(g, w, r, cancel, stream, func(m *identityv1.DownloadDataExportResponse) (file, bool) {
		e := m.GetExport()
		return file{contentType: "application/zip", size: e.GetSizeBytes(),
			disposition: attachment("healthcore-dados-"+e.GetId(), "application/zip")}, e != nil
	}, (*identityv1.DownloadDataExportResponse).GetChunk)
}
