package records

import (
	"bytes"
	"slices"
	"strings"
	"testing"

	"healthcore/platform/errs"
)

// signatures are the leading bytes each detectable binary type must start with (the
// WHATWG sniffing table's patterns, masks left out); WebP is RIFF….WEBPVP.
var signatures = map[string][]string{
	"application/pdf": {"%PDF-"},
	"image/jpeg":      {"\xff\xd8\xff"},
	"image/png":       {"\x89PNG\r\n\x1a\n"},
	"image/gif":       {"GIF87a", "GIF89a"},
	"image/webp":      {"RIFF"},
}

// isBinaryByte is the WHATWG "binary data byte": what text never holds.
func isBinaryByte(b byte) bool {
	return b <= 0x08 || b == 0x0b || 0x0e <= b && b <= 0x1a || 0x1c <= b && b <= 0x1f
}

// FuzzDetectContentType: the type an upload is held to depends on its first sniffLen
// bytes only, is a bare lower-case media type (or ""), and each detectable type is
// named only for bytes that carry its signature: a PDF starts with %PDF-, DICOM has
// DICM at 128, text has no binary bytes, and so on. The declared type a client sends
// normalises the same way, and a mismatch is CONTENT_TYPE_MISMATCH (INVALID_ARGUMENT).
func FuzzDetectContentType(f *testing.F) {
	dicom := append(make([]byte, 128), "DICM\x02\x00\x00\x00UL"...)
	polyglot := append([]byte("MZ\x90\x00"), make([]byte, 124)...)
	polyglot = append(polyglot, "DICM"...)
	for _, s := range [][]byte{
		[]byte("%PDF-1.7\n%âãÏÓ\n1 0 obj"), []byte("\xff\xd8\xff\xe0\x00\x10JFIF\x00"), []byte("\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR"),
		[]byte("GIF89a\x01\x00\x01\x00"), []byte("RIFF\x24\x00\x00\x00WEBPVP8 "), dicom, polyglot, dicom[:131],
		[]byte("hello, world\n"), []byte("\xef\xbb\xbfBOM text"), []byte("\xfe\xff\x00h\x00i"), []byte("<html><script>"),
		[]byte("  %PDF-1.7"), []byte("\x7fELF\x02\x01\x01"), []byte("#!/bin/sh\n"), append(bytes.Repeat([]byte("a"), 511), 0), nil,
	} {
		f.Add(s, "application/pdf")
	}
	f.Add([]byte("%PDF-"), "Application/PDF; charset=binary")
	f.Add([]byte("x"), "text/plain;;")
	f.Add([]byte("x"), "image/")
	f.Add([]byte("x"), `application/pdf; name="a;b"`)
	f.Fuzz(func(t *testing.T, head []byte, declared string) {
		got := detectContentType(head)
		if len(head) > sniffLen {
			if first := detectContentType(head[:sniffLen]); first != got {
				t.Fatalf("%q from the first %d bytes, %q from all %d", first, sniffLen, got, len(head))
			}
		}
		if got != "" && (got != strings.ToLower(got) || strings.ContainsAny(got, "; \t") || normalizeType(got) != got) {
			t.Fatalf("detectContentType = %q: not a bare lower-case media type", got)
		}
		switch {
		case got == "application/dicom":
			if len(head) < 132 || string(head[128:132]) != "DICM" {
				t.Fatalf("DICOM without DICM at 128: %q", head)
			}
		case got == "text/plain":
			bom := bytes.HasPrefix(head, []byte("\xef\xbb\xbf")) || bytes.HasPrefix(head, []byte("\xfe\xff")) || bytes.HasPrefix(head, []byte("\xff\xfe"))
			if !bom && slices.ContainsFunc(head[:min(len(head), sniffLen)], isBinaryByte) {
				t.Fatalf("text/plain for bytes with binary data: %q", head)
			}
		case signatures[got] != nil:
			if !slices.ContainsFunc(signatures[got], func(sig string) bool { return bytes.HasPrefix(head, []byte(sig)) }) {
				t.Fatalf("%s for bytes without its signature: %q", got, head)
			}
		}

		n := normalizeType(declared)
		if n != "" && (n != strings.ToLower(n) || strings.ContainsAny(n, "; \t") || normalizeType(n) != n) {
			t.Fatalf("normalizeType(%q) = %q: not a bare lower-case media type", declared, n)
		}
		if n != got {
			if err := errTypeMismatch(n); !errs.Has(err, ReasonContentTypeMismatch) {
				t.Fatalf("errTypeMismatch(%q) = %v", n, err)
			}
		}
	})
}
