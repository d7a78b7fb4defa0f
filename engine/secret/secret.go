// Package secret encrypts the credentials hybridsync must keep (a service account's
// password, a SQL login) with AES-256-GCM. The key is 32 random bytes in a 0600 file
// in the data directory, made once and never regenerated, or given base64-encoded in
// the environment (HYBRIDSYNC_SECRET_KEY) so that it can live outside the data.
package secret

import (
	"crypto/aes"
	"crypto/cipher"
	"crypto/rand"
	"encoding/base64"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
)

// KeyFile is the key's file name in the data directory.
const KeyFile = "secret.key"

// Box seals and opens secrets with one key.
type Box struct{ aead cipher.AEAD }

// Load returns the box for a data directory: the key from env if it is set, else
// from the key file, which it creates (0600) on first use.
func Load(dataDir, envKey string) (*Box, error) {
	var key []byte
	if envKey != "" {
		k, err := base64.StdEncoding.DecodeString(strings.TrimSpace(envKey))
		if err != nil || len(k) != 32 {
			return nil, errors.New("secret: HYBRIDSYNC_SECRET_KEY must be 32 bytes, base64-encoded")
		}
		key = k
	} else {
		path := filepath.Join(dataDir, KeyFile)
		k, err := os.ReadFile(path)
		switch {
		case err == nil:
			if len(k) != 32 {
				return nil, fmt.Errorf("secret: %s holds %d bytes, not 32", path, len(k))
			}
			if fi, err := os.Stat(path); err == nil && fi.Mode().Perm()&0o077 != 0 {
				return nil, fmt.Errorf("secret: %s is readable by others (mode %o); chmod 600 it", path, fi.Mode().Perm())
			}
		case errors.Is(err, os.ErrNotExist):
			k = make([]byte, 32)
			if _, err := rand.Read(k); err != nil {
				return nil, fmt.Errorf("secret: unable to make a key: %w", err)
			}
			if err := os.MkdirAll(dataDir, 0o700); err != nil {
				return nil, fmt.Errorf("secret: unable to create %s: %w", dataDir, err)
			}
			// O_EXCL: never overwrite a key another process just made.
			f, err := os.OpenFile(path, os.O_WRONLY|os.O_CREATE|os.O_EXCL, 0o600)
			if errors.Is(err, os.ErrExist) {
				// Another process made it first: use its key.
				return Load(dataDir, "")
			}
			if err != nil {
				return nil, fmt.Errorf("secret: unable to create %s: %w", path, err)
			}
			if _, err := f.Write(k); err != nil {
				f.Close()
				return nil, fmt.Errorf("secret: unable to write %s: %w", path, err)
			}
			if err := f.Close(); err != nil {
				return nil, fmt.Errorf("secret: unable to write %s: %w", path, err)
			}
		default:
			return nil, fmt.Errorf("secret: unable to read %s: %w", path, err)
		}
		key = k
	}
	return New(key)
}

// New returns a box for a 32-byte key.
func New(key []byte) (*Box, error) {
	block, err := aes.NewCipher(key)
	if err != nil {
		return nil, fmt.Errorf("secret: %w", err)
	}
	aead, err := cipher.NewGCM(block)
	if err != nil {
		return nil, fmt.Errorf("secret: %w", err)
	}
	return &Box{aead: aead}, nil
}

// prefix marks sealed values, so that a plain value is never mistaken for one.
const prefix = "sealed:v1:"

// Seal encrypts plaintext; the empty string stays empty.
func (b *Box) Seal(plaintext string) (string, error) {
	if plaintext == "" {
		return "", nil
	}
	nonce := make([]byte, b.aead.NonceSize())
	if _, err := rand.Read(nonce); err != nil {
		return "", fmt.Errorf("secret: unable to make a nonce: %w", err)
	}
	out := b.aead.Seal(nonce, nonce, []byte(plaintext), nil)
	return prefix + base64.StdEncoding.EncodeToString(out), nil
}

// Open decrypts a sealed value; the empty string stays empty.
func (b *Box) Open(sealed string) (string, error) {
	if sealed == "" {
		return "", nil
	}
	raw, ok := strings.CutPrefix(sealed, prefix)
	if !ok {
		return "", errors.New("secret: value is not sealed")
	}
	data, err := base64.StdEncoding.DecodeString(raw)
	if err != nil || len(data) < b.aead.NonceSize() {
		return "", errors.New("secret: sealed value is corrupt")
	}
	n := b.aead.NonceSize()
	plain, err := b.aead.Open(nil, data[:n], data[n:], nil)
	if err != nil {
		return "", errors.New("secret: unable to decrypt (wrong key?)")
	}
	return string(plain), nil
}
