// Package secret encrypts the credentials hybridsync must keep (a service account's
// password, a SQL login, the session cookie keys) with AES-256-GCM.
//
// The keys come from one of three places (see Source): a file outside the data
// directory (--secret-key-file), the environment (HYBRIDSYNC_SECRET_KEY), or, by
// default, the 0600 file secret.key in the data directory, made once and never
// regenerated. A Box holds one or more keys, newest first: the newest seals,
// every one opens. That is how a key is rotated (see keys.go).
//
// Two sealed formats exist:
//
//	sealed:v1:<base64(nonce|ciphertext)>            Seal/Open: no key id, no associated data
//	sealed:v2:<key id>:<base64(nonce|ciphertext)>   SealFor/OpenFor: bound to a purpose
//
// A v2 value names the field it was sealed for (its purpose, as associated data),
// so a value copied into another field does not open there. OpenFor still opens
// v1 values (the legacy format, opened without associated data); Stale reports
// them so that the caller seals them again when it next writes them.
package secret

import (
	"crypto/aes"
	"crypto/cipher"
	"crypto/rand"
	"crypto/sha256"
	"encoding/base64"
	"encoding/hex"
	"errors"
	"fmt"
	"strings"
)

// KeySize is the length of a key: AES-256.
const KeySize = 32

// Box seals with its newest key and opens with any of its keys.
type Box struct {
	keys []boxKey // newest first
}

type boxKey struct {
	id   string
	aead cipher.AEAD
}

// New returns a box for one 32-byte key.
func New(key []byte) (*Box, error) { return NewKeys(key) }

// NewKeys returns a box for one or more 32-byte keys, newest first: the first
// seals, all open.
func NewKeys(keys ...[]byte) (*Box, error) {
	if len(keys) == 0 {
		return nil, errors.New("secret: no key")
	}
	b := &Box{}
	seen := map[string]bool{}
	for i, k := range keys {
		if len(k) != KeySize {
			return nil, fmt.Errorf("secret: key %d is %d bytes, not %d", i+1, len(k), KeySize)
		}
		id := KeyID(k)
		if seen[id] {
			return nil, fmt.Errorf("secret: key %d (id %s) is given twice", i+1, id)
		}
		seen[id] = true
		block, err := aes.NewCipher(k)
		if err != nil {
			return nil, fmt.Errorf("secret: %w", err)
		}
		aead, err := cipher.NewGCM(block)
		if err != nil {
			return nil, fmt.Errorf("secret: %w", err)
		}
		b.keys = append(b.keys, boxKey{id: id, aead: aead})
	}
	return b, nil
}

// KeyID names a key without revealing it: 8 hex digits of a SHA-256 of the key.
// Sealed v2 values carry it, so that opening one picks its key at once.
func KeyID(key []byte) string {
	h := sha256.Sum256(append([]byte("hybridsync secret key id\x00"), key...))
	return hex.EncodeToString(h[:4])
}

// KeyIDs lists the box's key ids, newest (the sealing one) first.
func (b *Box) KeyIDs() []string {
	out := make([]string, len(b.keys))
	for i, k := range b.keys {
		out[i] = k.id
	}
	return out
}

const (
	prefixV1 = "sealed:v1:"
	prefixV2 = "sealed:v2:"
)

// IsSealed reports whether v is a sealed value (of either format) rather than
// plain text.
func IsSealed(v string) bool {
	return strings.HasPrefix(v, prefixV1) || strings.HasPrefix(v, prefixV2)
}

// Seal encrypts plaintext in the legacy v1 format (no purpose) with the newest
// key; the empty string stays empty. New code uses SealFor.
func (b *Box) Seal(plaintext string) (string, error) {
	if plaintext == "" {
		return "", nil
	}
	out, err := seal(b.keys[0].aead, plaintext, nil)
	if err != nil {
		return "", err
	}
	return prefixV1 + out, nil
}

// Open decrypts a v1 value with whichever key sealed it; the empty string stays
// empty. A v2 value needs its purpose: OpenFor.
func (b *Box) Open(sealed string) (string, error) {
	if sealed == "" {
		return "", nil
	}
	if strings.HasPrefix(sealed, prefixV2) {
		return "", errors.New("secret: the value is sealed for a purpose; open it with OpenFor")
	}
	raw, ok := strings.CutPrefix(sealed, prefixV1)
	if !ok {
		return "", errors.New("secret: value is not sealed")
	}
	return b.openAny(raw)
}

// SealFor encrypts plaintext with the newest key for one purpose — the field it
// is kept in, such as PurposeSessionKeys — which OpenFor must name again. The
// empty string stays empty.
func (b *Box) SealFor(purpose, plaintext string) (string, error) {
	if err := checkPurpose(purpose); err != nil {
		return "", err
	}
	if plaintext == "" {
		return "", nil
	}
	k := b.keys[0]
	out, err := seal(k.aead, plaintext, ad(purpose))
	if err != nil {
		return "", err
	}
	return prefixV2 + k.id + ":" + out, nil
}

// OpenFor decrypts a value sealed for purpose. It also opens legacy v1 values
// (sealed before purposes existed, so without one); Stale reports them. The
// empty string stays empty.
func (b *Box) OpenFor(purpose, sealed string) (string, error) {
	if err := checkPurpose(purpose); err != nil {
		return "", err
	}
	if sealed == "" {
		return "", nil
	}
	if raw, ok := strings.CutPrefix(sealed, prefixV1); ok {
		return b.openAny(raw)
	}
	rest, ok := strings.CutPrefix(sealed, prefixV2)
	if !ok {
		return "", errors.New("secret: value is not sealed")
	}
	id, raw, ok := strings.Cut(rest, ":")
	if !ok {
		return "", errors.New("secret: sealed value is corrupt")
	}
	k, ok := b.key(id)
	if !ok {
		return "", fmt.Errorf("secret: the value was sealed with key %s, which is not among the keys given (%s)", id, strings.Join(b.KeyIDs(), ", "))
	}
	data, err := decode(k.aead, raw)
	if err != nil {
		return "", err
	}
	n := k.aead.NonceSize()
	plain, err := k.aead.Open(nil, data[:n], data[n:], ad(purpose))
	if err != nil {
		return "", fmt.Errorf("secret: unable to decrypt: the value was altered, or sealed for another purpose than %q", purpose)
	}
	return string(plain), nil
}

// Stale reports whether a sealed value should be sealed again when it is next
// written: it is in the legacy v1 format, or was sealed with a key other than the
// newest. Empty and plain values are not stale.
func (b *Box) Stale(sealed string) bool {
	if strings.HasPrefix(sealed, prefixV1) {
		return true
	}
	rest, ok := strings.CutPrefix(sealed, prefixV2)
	if !ok {
		return false
	}
	id, _, _ := strings.Cut(rest, ":")
	return id != b.keys[0].id
}

func (b *Box) key(id string) (boxKey, bool) {
	for _, k := range b.keys {
		if k.id == id {
			return k, true
		}
	}
	return boxKey{}, false
}

// openAny opens a v1 body: it names no key, so each key is tried, newest first.
func (b *Box) openAny(raw string) (string, error) {
	for _, k := range b.keys {
		data, err := decode(k.aead, raw)
		if err != nil {
			return "", err
		}
		n := k.aead.NonceSize()
		if plain, err := k.aead.Open(nil, data[:n], data[n:], nil); err == nil {
			return string(plain), nil
		}
	}
	return "", errors.New("secret: unable to decrypt (wrong key?)")
}

func seal(aead cipher.AEAD, plaintext string, additional []byte) (string, error) {
	nonce := make([]byte, aead.NonceSize())
	if _, err := rand.Read(nonce); err != nil {
		return "", fmt.Errorf("secret: unable to make a nonce: %w", err)
	}
	out := aead.Seal(nonce, nonce, []byte(plaintext), additional)
	return base64.StdEncoding.EncodeToString(out), nil
}

func decode(aead cipher.AEAD, raw string) ([]byte, error) {
	data, err := base64.StdEncoding.DecodeString(raw)
	if err != nil || len(data) < aead.NonceSize()+aead.Overhead() {
		return nil, errors.New("secret: sealed value is corrupt")
	}
	return data, nil
}

// ad is the associated data of a v2 value: the format and the purpose, so that
// neither can be changed without the value failing to open.
func ad(purpose string) []byte { return []byte("hybridsync sealed v2\x00" + purpose) }

func checkPurpose(p string) error {
	if p == "" || strings.ContainsRune(p, 0) {
		return fmt.Errorf("secret: bad purpose %q", p)
	}
	return nil
}
