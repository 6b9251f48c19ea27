package blobs

import (
	"encoding/binary"
	"encoding/hex"
	"errors"
	"fmt"
	"hash/crc32"
	"io"
	"os"
	"time"
)

// The local driver's file format: a header, then the object's bytes.
//
//	offset  size  field
//	0       8     magic "HCBLOB1\n"
//	8       2     header length: 64 + key length (big-endian, as every number here)
//	10      2     key length
//	12      4     CRC-32 (IEEE) of the whole header, this field counted as zero
//	16      8     object size
//	24      8     store time, Unix nanoseconds
//	32      32    SHA-256 of the object
//	64      …     key
//
// The key makes a file self-describing (a tool can list or migrate a store without a
// key index); the CRC tells a damaged header from a valid one; the size, checked
// against the file's length, tells a truncated file.
const (
	fileMagic      = "HCBLOB1\n"
	fixedHeaderLen = 64
)

type fileHeader struct {
	key     string
	size    int64
	created time.Time
	sha256  []byte
}

func (h fileHeader) len() int { return fixedHeaderLen + len(h.key) }

func (h fileHeader) encode() []byte {
	b := make([]byte, h.len())
	copy(b, fileMagic)
	binary.BigEndian.PutUint16(b[8:], uint16(h.len()))
	binary.BigEndian.PutUint16(b[10:], uint16(len(h.key)))
	binary.BigEndian.PutUint64(b[16:], uint64(h.size))
	binary.BigEndian.PutUint64(b[24:], uint64(h.created.UnixNano()))
	copy(b[32:64], h.sha256)
	copy(b[64:], h.key)
	binary.BigEndian.PutUint32(b[12:], crc32.ChecksumIEEE(b))
	return b
}

func (h fileHeader) info() ObjectInfo {
	return ObjectInfo{Key: h.key, Size: h.size, SHA256: hex.EncodeToString(h.sha256), CreateTime: h.created}
}

var errBadFile = errors.New("not a blob file, or a damaged one")

// readHeader reads and checks the header of f, which must be the file of key.
func readHeader(f *os.File, key string) (fileHeader, error) {
	b := make([]byte, fixedHeaderLen+len(key))
	if _, err := io.ReadFull(f, b); err != nil {
		if errors.Is(err, io.EOF) || errors.Is(err, io.ErrUnexpectedEOF) {
			return fileHeader{}, fmt.Errorf("%w: header cut short", errBadFile)
		}
		return fileHeader{}, err
	}
	if string(b[:8]) != fileMagic {
		return fileHeader{}, fmt.Errorf("%w: no magic number", errBadFile)
	}
	if int(binary.BigEndian.Uint16(b[8:])) != len(b) || int(binary.BigEndian.Uint16(b[10:])) != len(key) {
		return fileHeader{}, fmt.Errorf("%w: header length does not match the key", errBadFile)
	}
	crc := binary.BigEndian.Uint32(b[12:])
	clear(b[12:16])
	if crc32.ChecksumIEEE(b) != crc {
		return fileHeader{}, fmt.Errorf("%w: header checksum mismatch", errBadFile)
	}
	if string(b[64:]) != key {
		return fileHeader{}, fmt.Errorf("%w: the file holds another key", errBadFile)
	}
	h := fileHeader{
		key:     key,
		size:    int64(binary.BigEndian.Uint64(b[16:])),
		created: time.Unix(0, int64(binary.BigEndian.Uint64(b[24:]))).UTC(),
		sha256:  b[32:64],
	}
	fi, err := f.Stat()
	if err != nil {
		return fileHeader{}, err
	}
	if h.size < 0 || fi.Size() != int64(len(b))+h.size {
		return fileHeader{}, fmt.Errorf("%w: file is %d bytes, header says %d", errBadFile, fi.Size(), int64(len(b))+h.size)
	}
	return h, nil
}
