package records

import (
	"mime"
	"net/http"
	"strings"
)

// sniffLen is how many leading bytes detection needs: http.DetectContentType reads up
// to 512, and DICOM's marker sits at 128.
const sniffLen = 512

// detectable are the types detectContentType can tell; only they can be allowed,
// since an upload is accepted only when its bytes prove its declared type.
var detectable = []string{"application/pdf", "image/jpeg", "image/png", "image/webp", "image/gif", "application/dicom", "text/plain"}

// detectContentType names the type of a document from its first bytes (at least
// sniffLen of them unless the document is shorter). A DICOM file (Part 10) starts
// with a 128-byte preamble and then "DICM"; http.DetectContentType knows the rest.
// Parameters (charset) are dropped.
func detectContentType(head []byte) string {
	if len(head) >= 132 && string(head[128:132]) == "DICM" {
		return "application/dicom"
	}
	return normalizeType(http.DetectContentType(head))
}

// normalizeType lower-cases a media type and drops its parameters; "" when it does
// not parse.
func normalizeType(t string) string {
	mt, _, err := mime.ParseMediaType(t)
	if err != nil {
		return ""
	}
	return strings.ToLower(mt)
}
