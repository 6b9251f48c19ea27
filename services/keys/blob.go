package keys

import (
	"crypto/cipher"
	"crypto/rand"
	"encoding/binary"
	"fmt"
	"slices"
)

// Layout of a local-driver blob, self-describing so a key version can be found and
// retired keys still open old data:
//
//	[0]     blobFormat, the magic and layout byte
//	[1:5]   master key version, big-endian uint32
//	[5:17]  random 96-bit nonce
//	[17:]   AES-256-GCM ciphertext and 16-byte tag
//
// The additional authenticated data is the 5-byte header, the key id and the canonical
// encoding of the encryption context, so changing the version, the key or any context
// pair makes the tag check fail.
const (
	blobFormat    byte = 0x4b // 'K': local keys blob, layout 1
	headerSize         = 5
	nonceSize          = 12
	tagSize            = 16
	minBlobSize        = headerSize + nonceSize + tagSize
	maxKeyVersion      = 1<<32 - 1
)

// seal encrypts plaintext under aead, master key version v of keyID.
func seal(aead cipher.AEAD, keyID string, v uint32, plaintext []byte, ec map[string]string) []byte {
	out := make([]byte, headerSize+nonceSize, headerSize+nonceSize+len(plaintext)+tagSize)
	out[0] = blobFormat
	binary.BigEndian.PutUint32(out[1:headerSize], v)
	nonce := out[headerSize:]
	_, _ = rand.Read(nonce) // crypto/rand.Read never returns an error; it crashes instead
	return aead.Seal(out, nonce, plaintext, additionalData(out[:headerSize], keyID, ec))
}

// blobVersion returns the master key version a blob names, after checking its layout.
func blobVersion(blob []byte) (uint32, error) {
	if len(blob) < minBlobSize {
		return 0, fmt.Errorf("%w: blob has %d bytes, a local blob has at least %d", ErrDecrypt, len(blob), minBlobSize)
	}
	if blob[0] != blobFormat {
		return 0, fmt.Errorf("%w: not a local blob (format byte %#x)", ErrDecrypt, blob[0])
	}
	return binary.BigEndian.Uint32(blob[1:headerSize]), nil
}

// open decrypts a blob whose layout blobVersion accepted.
func open(aead cipher.AEAD, keyID string, blob []byte, ec map[string]string) ([]byte, error) {
	header, nonce, body := blob[:headerSize], blob[headerSize:headerSize+nonceSize], blob[headerSize+nonceSize:]
	pt, err := aead.Open(nil, nonce, body, additionalData(header, keyID, ec))
	if err != nil {
		return nil, fmt.Errorf("%w: authentication failed", ErrDecrypt)
	}
	return pt, nil
}

// additionalData is header ‖ field(keyID) ‖ uint32(len(ec)) ‖ field(k) field(v)… with
// pairs sorted by key and every field length-prefixed (uint32), so no two different
// (key id, context) pairs encode alike: {"ab":"c"} and {"a":"bc"} differ.
func additionalData(header []byte, keyID string, ec map[string]string) []byte {
	names := make([]string, 0, len(ec))
	size := len(header) + 8 + len(keyID)
	for k, v := range ec {
		names = append(names, k)
		size += 8 + len(k) + len(v)
	}
	slices.Sort(names)
	out := make([]byte, 0, size)
	out = append(out, header...)
	out = appendField(out, keyID)
	out = binary.BigEndian.AppendUint32(out, uint32(len(names)))
	for _, k := range names {
		out = appendField(out, k)
		out = appendField(out, ec[k])
	}
	return out
}

func appendField(b []byte, s string) []byte {
	b = binary.BigEndian.AppendUint32(b, uint32(len(s)))
	return append(b, s...)
}
