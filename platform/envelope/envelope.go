package envelope

import (
	"context"
	"crypto/aes"
	"crypto/cipher"
	"crypto/rand"
	"crypto/sha256"
	"encoding/binary"
	"errors"
	"fmt"
	"slices"
	"strings"
	"sync"
	"time"

	"connectrpc.com/connect"
	"github.com/hashicorp/golang-lru/v2/expirable"

	keysv1 "healthcore/gen/healthcore/keys/v1"
	"healthcore/gen/healthcore/keys/v1/keysv1connect"
)

// Options bounds the data key caches.
type Options struct {
	// KeyID is the master key to ask for; "" is the keys service's default.
	KeyID string
	// MaxAge is how long a data key is used to encrypt, and kept for decrypting.
	MaxAge time.Duration
	// MaxMessages is how many values one data key encrypts before a fresh one is asked
	// for (far below AES-GCM's 2^32 random-nonce limit).
	MaxMessages int
	// MaxEntries bounds the number of decrypted data keys held in memory.
	MaxEntries int
}

// Defaults are the production bounds.
var Defaults = Options{MaxAge: 5 * time.Minute, MaxMessages: 10_000, MaxEntries: 10_000}

// ErrOpen means a sealed value could not be opened: it was altered, or the context or
// associated data differ from those used to seal it.
var ErrOpen = errors.New("envelope: cannot open sealed value (altered, or wrong context)")

const version = 1

// Envelope seals and opens values under cached data keys.
type Envelope struct {
	keys keysv1connect.KeysServiceClient
	opts Options
	now  func() time.Time

	mu      sync.Mutex
	sealing map[string]*sealKey // by canonical context
	opening *expirable.LRU[string, []byte]
}

type sealKey struct {
	aead    cipher.AEAD
	edk     []byte
	created time.Time
	uses    int
}

// New returns an Envelope that gets data keys from keys.
func New(keys keysv1connect.KeysServiceClient, opts Options) *Envelope {
	if opts.MaxAge <= 0 {
		opts.MaxAge = Defaults.MaxAge
	}
	if opts.MaxMessages <= 0 {
		opts.MaxMessages = Defaults.MaxMessages
	}
	if opts.MaxEntries <= 0 {
		opts.MaxEntries = Defaults.MaxEntries
	}
	return &Envelope{
		keys: keys, opts: opts, now: time.Now,
		sealing: map[string]*sealKey{},
		opening: expirable.NewLRU[string, []byte](opts.MaxEntries, nil, opts.MaxAge),
	}
}

// Seal encrypts plaintext. ec is the (non-secret) encryption context bound to the data
// key by the key service, e.g. {"service":"identity","purpose":"patient-pii"}; aad is
// extra data bound to this one value, e.g. the row's id, so sealed values cannot be
// moved between rows. The same ec and aad must be given to Open.
func (e *Envelope) Seal(ctx context.Context, plaintext []byte, ec map[string]string, aad []byte) ([]byte, error) {
	k, err := e.sealKey(ctx, ec)
	if err != nil {
		return nil, err
	}
	header := make([]byte, 3, 3+len(k.edk)+12)
	header[0] = version
	binary.BigEndian.PutUint16(header[1:], uint16(len(k.edk)))
	header = append(header, k.edk...)
	nonce := make([]byte, k.aead.NonceSize())
	if _, err := rand.Read(nonce); err != nil {
		return nil, err
	}
	out := append(header, nonce...)
	return k.aead.Seal(out, nonce, plaintext, additional(header, ec, aad)), nil
}

// Open decrypts what Seal returned, given the same ec and aad.
func (e *Envelope) Open(ctx context.Context, sealed []byte, ec map[string]string, aad []byte) ([]byte, error) {
	if len(sealed) < 3 || sealed[0] != version {
		return nil, ErrOpen
	}
	n := int(binary.BigEndian.Uint16(sealed[1:]))
	if len(sealed) < 3+n+12+16 {
		return nil, ErrOpen
	}
	header, edk := sealed[:3+n], sealed[3:3+n]
	nonce, body := sealed[3+n:3+n+12], sealed[3+n+12:]
	aead, err := e.openKey(ctx, edk, ec)
	if err != nil {
		return nil, err
	}
	pt, err := aead.Open(nil, nonce, body, additional(header, ec, aad))
	if err != nil {
		return nil, ErrOpen
	}
	return pt, nil
}

func (e *Envelope) sealKey(ctx context.Context, ec map[string]string) (*sealKey, error) {
	id := canonical(ec)
	e.mu.Lock()
	k := e.sealing[id]
	if k != nil && k.uses < e.opts.MaxMessages && e.now().Sub(k.created) < e.opts.MaxAge {
		k.uses++
		e.mu.Unlock()
		return k, nil
	}
	e.mu.Unlock()

	resp, err := e.keys.GenerateDataKey(ctx, connect.NewRequest(&keysv1.GenerateDataKeyRequest{
		KeyId: e.opts.KeyID, EncryptionContext: ec,
	}))
	if err != nil {
		return nil, fmt.Errorf("envelope: generate data key: %w", err)
	}
	aead, err := newAEAD(resp.Msg.GetPlaintext())
	if err != nil {
		return nil, err
	}
	k = &sealKey{aead: aead, edk: resp.Msg.GetCiphertextBlob(), created: e.now(), uses: 1}
	e.mu.Lock()
	if len(e.sealing) >= e.opts.MaxEntries {
		clear(e.sealing) // contexts are few (one per purpose); this only bounds misuse
	}
	e.sealing[id] = k
	e.mu.Unlock()
	e.opening.Add(openID(k.edk, id), resp.Msg.GetPlaintext())
	return k, nil
}

func (e *Envelope) openKey(ctx context.Context, edk []byte, ec map[string]string) (cipher.AEAD, error) {
	id := openID(edk, canonical(ec))
	if key, ok := e.opening.Get(id); ok {
		return newAEAD(key)
	}
	resp, err := e.keys.Decrypt(ctx, connect.NewRequest(&keysv1.DecryptRequest{
		CiphertextBlob: edk, EncryptionContext: ec,
	}))
	if err != nil {
		if connect.CodeOf(err) == connect.CodeInvalidArgument {
			return nil, fmt.Errorf("%w: %v", ErrOpen, err)
		}
		return nil, fmt.Errorf("envelope: decrypt data key: %w", err)
	}
	e.opening.Add(id, resp.Msg.GetPlaintext())
	return newAEAD(resp.Msg.GetPlaintext())
}

func newAEAD(key []byte) (cipher.AEAD, error) {
	if len(key) != 32 {
		return nil, fmt.Errorf("envelope: data key has %d bytes, want 32", len(key))
	}
	block, err := aes.NewCipher(key)
	if err != nil {
		return nil, err
	}
	return cipher.NewGCM(block)
}

// canonical encodes a context deterministically: sorted key=value pairs, each length
// prefixed so no two maps encode alike.
func canonical(ec map[string]string) string {
	keys := make([]string, 0, len(ec))
	for k := range ec {
		keys = append(keys, k)
	}
	slices.Sort(keys)
	var b strings.Builder
	for _, k := range keys {
		fmt.Fprintf(&b, "%d:%s=%d:%s;", len(k), k, len(ec[k]), ec[k])
	}
	return b.String()
}

func openID(edk []byte, ctxID string) string {
	h := sha256.New()
	h.Write(edk)
	h.Write([]byte{0})
	h.Write([]byte(ctxID))
	return string(h.Sum(nil))
}

func additional(header []byte, ec map[string]string, aad []byte) []byte {
	c := canonical(ec)
	out := make([]byte, 0, len(header)+len(c)+4+len(aad))
	out = append(out, header...)
	out = append(out, c...)
	out = binary.BigEndian.AppendUint32(out, uint32(len(aad)))
	return append(out, aad...)
}
