package identity

import (
	"bytes"
	"context"
	"crypto/aes"
	"crypto/cipher"
	"crypto/rand"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"log/slog"
	"time"

	"connectrpc.com/connect"

	blobsv1 "healthcore/gen/healthcore/blobs/v1"
	keysv1 "healthcore/gen/healthcore/keys/v1"
)

// A doctor's CRM card is stored like a health record document: sealed with a data key
// of its own (AES-256-GCM), whose copy encrypted by the keys service (KMS in
// production) under an encryption context naming the doctor and the object is kept
// in the evidence row; the object key carries no personal data.

// maxCardBytes bounds a card (the proto says the same).
const maxCardBytes = 5 << 20

// blobChunk is the most a blobs Put message carries.
const blobChunk = 1 << 20

// cardTypes are the card formats accepted, by their leading bytes.
var cardTypes = []struct {
	magic       []byte
	contentType string
}{
	{[]byte("\xff\xd8\xff"), "image/jpeg"},
	{[]byte("\x89PNG\r\n\x1a\n"), "image/png"},
	{[]byte("%PDF-"), "application/pdf"},
}

// cardType returns the card's media type from its bytes, or "" when it is not a JPEG,
// PNG or PDF.
func cardType(b []byte) string {
	for _, t := range cardTypes {
		if bytes.HasPrefix(b, t.magic) {
			return t.contentType
		}
	}
	return ""
}

// cardKeyContext is the encryption context of a card's data key: ids only.
func cardKeyContext(doctorID, objectKey string) map[string]string {
	return map[string]string{"service": "identity", "purpose": "crm-card", "doctor": doctorID, "object": objectKey}
}

// storeCard seals card under a fresh data key and puts it in blobs under key; it
// returns the data key as the keys service encrypted it.
func (s *Service) storeCard(ctx context.Context, doctorID, key string, card []byte) ([]byte, error) {
	if s.keysClient == nil || s.blobs == nil {
		return nil, errors.New("identity: storing a CRM card needs the keys and blobs services")
	}
	dk, err := s.keysClient.GenerateDataKey(ctx, connect.NewRequest(&keysv1.GenerateDataKeyRequest{EncryptionContext: cardKeyContext(doctorID, key)}))
	if err != nil {
		return nil, fmt.Errorf("generate data key: %w", err)
	}
	aead, err := cardAEAD(dk.Msg.GetPlaintext())
	clear(dk.Msg.GetPlaintext())
	if err != nil {
		return nil, err
	}
	nonce := make([]byte, aead.NonceSize(), aead.NonceSize()+len(card)+aead.Overhead())
	if _, err := rand.Read(nonce); err != nil {
		return nil, fmt.Errorf("draw nonce: %w", err)
	}
	sealed := aead.Seal(nonce, nonce, card, []byte(key))
	ctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), time.Minute)
	defer cancel()
	put := s.blobs.Put(ctx)
	send := func(m *blobsv1.PutRequest) error {
		if err := put.Send(m); err != nil {
			if _, err2 := put.CloseAndReceive(); err2 != nil {
				err = err2
			}
			return fmt.Errorf("store card: %w", err)
		}
		return nil
	}
	if err := send(&blobsv1.PutRequest{Part: &blobsv1.PutRequest_Header{Header: &blobsv1.PutHeader{Key: key, MaxBytes: int64(len(sealed))}}}); err != nil {
		return nil, err
	}
	for rest := sealed; len(rest) > 0; {
		n := min(len(rest), blobChunk)
		if err := send(&blobsv1.PutRequest{Part: &blobsv1.PutRequest_Chunk{Chunk: rest[:n]}}); err != nil {
			return nil, err
		}
		rest = rest[n:]
	}
	sum := sha256.Sum256(sealed)
	if err := send(&blobsv1.PutRequest{Part: &blobsv1.PutRequest_Trailer{Trailer: &blobsv1.PutTrailer{
		Size: int64(len(sealed)), Sha256: hex.EncodeToString(sum[:])}}}); err != nil {
		return nil, err
	}
	if _, err := put.CloseAndReceive(); err != nil {
		return nil, fmt.Errorf("store card: %w", err)
	}
	return dk.Msg.GetCiphertextBlob(), nil
}

// openCard reads and opens the card of the evidence.
func (s *Service) openCard(ctx context.Context, e evidence) ([]byte, error) {
	if s.keysClient == nil || s.blobs == nil {
		return nil, errors.New("identity: reading a CRM card needs the keys and blobs services")
	}
	dk, err := s.keysClient.Decrypt(ctx, connect.NewRequest(&keysv1.DecryptRequest{
		CiphertextBlob: e.CardDataKey, EncryptionContext: cardKeyContext(e.DoctorID, e.CardKey)}))
	if err != nil {
		return nil, fmt.Errorf("decrypt data key: %w", err)
	}
	aead, err := cardAEAD(dk.Msg.GetPlaintext())
	clear(dk.Msg.GetPlaintext())
	if err != nil {
		return nil, err
	}
	obj, err := s.blobs.Get(ctx, connect.NewRequest(&blobsv1.GetRequest{Key: e.CardKey}))
	if err != nil {
		return nil, fmt.Errorf("read card: %w", err)
	}
	defer obj.Close()
	var sealed []byte
	for obj.Receive() {
		sealed = append(sealed, obj.Msg().GetChunk()...)
		if len(sealed) > maxCardBytes+aead.NonceSize()+aead.Overhead() {
			return nil, errors.New("read card: the object is larger than any card")
		}
	}
	if err := obj.Err(); err != nil {
		return nil, fmt.Errorf("read card: %w", err)
	}
	if len(sealed) < aead.NonceSize() {
		return nil, errors.New("open card: object too short")
	}
	card, err := aead.Open(nil, sealed[:aead.NonceSize()], sealed[aead.NonceSize():], []byte(e.CardKey))
	if err != nil {
		return nil, fmt.Errorf("open card: %w", err)
	}
	return card, nil
}

// removeCard deletes a card object no row names any more (replaced, or its row not
// written); a failure leaves an unreadable orphan, logged.
func (s *Service) removeCard(ctx context.Context, key string) {
	ctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), time.Minute)
	defer cancel()
	if _, err := s.blobs.Delete(ctx, connect.NewRequest(&blobsv1.DeleteRequest{Key: key})); err != nil {
		s.log.ErrorContext(ctx, "orphan card left in storage", slog.String("key", key), slog.String("error", err.Error()))
	}
}

func cardAEAD(key []byte) (cipher.AEAD, error) {
	block, err := aes.NewCipher(key)
	if err != nil {
		return nil, fmt.Errorf("card cipher: %w", err)
	}
	return cipher.NewGCM(block)
}
