package records

import (
	"bytes"
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

// executableHeaders are the leading bytes of programs an operating system runs: a
// Windows PE (MZ), ELF, Mach-O (32/64-bit, either byte order, and universal) and a
// script with an interpreter line.
var executableHeaders = []struct{ magic, name string }{
	{"MZ", "a Windows program (PE, \"MZ\")"},
	{"\x7fELF", "an ELF program"},
	{"\xfe\xed\xfa\xce", "a Mach-O program"},
	{"\xfe\xed\xfa\xcf", "a Mach-O program"},
	{"\xce\xfa\xed\xfe", "a Mach-O program"},
	{"\xcf\xfa\xed\xfe", "a Mach-O program"},
	{"\xca\xfe\xba\xbe", "a Mach-O universal program"},
	{"#!", "a script (\"#!\")"},
}

// executablePreamble names the program whose header starts a DICOM file's 128-byte
// preamble, or "" when none does. The preamble is free for applications (zeros in
// most files, a vendor's text in some), so a file can be a valid DICOM image and a
// program at once (CVE-2019-11687): opened from a download folder, it runs.
func executablePreamble(head []byte) string {
	if len(head) < 132 {
		return ""
	}
	for _, h := range executableHeaders {
		if bytes.HasPrefix(head, []byte(h.magic)) {
			return h.name
		}
	}
	return ""
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
