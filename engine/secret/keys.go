package secret

import (
	"bytes"
	"crypto/rand"
	"encoding/base64"
	"errors"
	"fmt"
	"log/slog"
	"os"
	"path/filepath"
	"strings"
)

// KeyFile is the key's file name in the data directory.
const KeyFile = "secret.key"

// Source says where the keys are. At most one of File and Env may be set; with
// neither, the data directory's secret.key is used, and made on first use.
//
// A key file holds either one raw 32-byte key (what hybridsync makes), or keys
// as text: one base64-encoded 32-byte key a line, newest first; blank lines and
// lines starting with # are skipped. The environment holds base64 keys, newest
// first, separated by commas or white space.
//
// Rotating the key: put a new key first and keep the old ones after it. New
// values are sealed with the new key; values sealed with an old one still open,
// and are sealed again with the new key when next written (the session keys at
// every start). An old key may go once nothing sealed with it is left.
type Source struct {
	// DataDir is the data directory.
	DataDir string
	// File is a key file outside the data directory (--secret-key-file). It is
	// never made: a missing file is an error.
	File string
	// Env is HYBRIDSYNC_SECRET_KEY.
	Env string
	// Log receives warnings (a key file others can read, a leftover copy of the
	// key in the data directory); nil: slog.Default().
	Log *slog.Logger
}

// Load returns the box for a data directory: the keys from env if it is set,
// else from the data directory's key file, which it creates (0600) on first use.
func Load(dataDir, envKey string) (*Box, error) {
	return LoadFrom(Source{DataDir: dataDir, Env: envKey})
}

// LoadFrom returns the box for a Source.
func LoadFrom(src Source) (*Box, error) {
	log := src.Log
	if log == nil {
		log = slog.Default()
	}
	env := strings.TrimSpace(src.Env)
	var keys [][]byte
	switch {
	case src.File != "" && env != "":
		return nil, errors.New("secret: both --secret-key-file and HYBRIDSYNC_SECRET_KEY are set; keep one")
	case src.File != "":
		k, err := readKeyFile(src.File)
		if err != nil {
			return nil, err
		}
		if fi, err := os.Stat(src.File); err == nil && fi.Mode().Perm()&0o077 != 0 {
			// Guess: a warning, not a refusal — container secrets are often
			// mounted 0444 in a filesystem only the process sees.
			log.Warn("the secret key file can be read by other users: chmod 600 it", "file", src.File, "mode", fmt.Sprintf("%o", fi.Mode().Perm()))
		}
		keys = k
	case env != "":
		k, err := parseEnv(env)
		if err != nil {
			return nil, err
		}
		keys = k
	default:
		k, err := dataDirKeys(src.DataDir)
		if err != nil {
			return nil, err
		}
		return NewKeys(k...)
	}
	b, err := NewKeys(keys...)
	if err != nil {
		return nil, err
	}
	if err := checkLeftover(b, src, log); err != nil {
		return nil, err
	}
	return b, nil
}

// checkLeftover looks at the data directory's key file when the keys come from
// elsewhere: a key only it holds would leave its values unreadable, so that is
// an error; a copy of a key given defeats keeping the key off the data disk, so
// that is a warning.
func checkLeftover(b *Box, src Source, log *slog.Logger) error {
	if src.DataDir == "" {
		return nil
	}
	path := filepath.Join(src.DataDir, KeyFile)
	old, err := readKeyFile(path)
	if errors.Is(err, os.ErrNotExist) {
		return nil
	}
	if err != nil {
		log.Warn("unable to read the data directory's old secret key file", "file", path, "err", err)
		return nil
	}
	for _, k := range old {
		if _, ok := b.key(KeyID(k)); !ok {
			return fmt.Errorf("secret: %s holds key %s, which the key given lacks: values sealed with it would not open; add it to the key file after the newest key (or delete %s if nothing sealed with it is needed)", path, KeyID(k), path)
		}
	}
	log.Warn("a copy of the secret key is still in the data directory: delete it, the key is now given elsewhere", "file", path)
	return nil
}

// dataDirKeys reads the data directory's key file, making it on first use.
func dataDirKeys(dataDir string) ([][]byte, error) {
	path := filepath.Join(dataDir, KeyFile)
	keys, err := readKeyFile(path)
	switch {
	case err == nil:
		if fi, err := os.Stat(path); err == nil && fi.Mode().Perm()&0o077 != 0 {
			return nil, fmt.Errorf("secret: %s is readable by others (mode %o); chmod 600 it", path, fi.Mode().Perm())
		}
		return keys, nil
	case !errors.Is(err, os.ErrNotExist):
		return nil, err
	}
	k := make([]byte, KeySize)
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
		return dataDirKeys(dataDir)
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
	return [][]byte{k}, nil
}

// readKeyFile reads a key file: one raw key, or base64 keys a line.
func readKeyFile(path string) ([][]byte, error) {
	data, err := os.ReadFile(path)
	if errors.Is(err, os.ErrNotExist) {
		return nil, fmt.Errorf("secret: %s does not exist: %w", path, err)
	}
	if err != nil {
		return nil, fmt.Errorf("secret: unable to read %s: %w", path, err)
	}
	keys, err := parseKeyFile(data)
	if err != nil {
		return nil, fmt.Errorf("secret: %s: %w", path, err)
	}
	return keys, nil
}

// parseKeyFile reads one raw 32-byte key (a base64 key line is 44 characters,
// so the two never mix up), or text lines of base64 keys.
func parseKeyFile(data []byte) ([][]byte, error) {
	if len(data) == KeySize {
		return [][]byte{data}, nil
	}
	var keys [][]byte
	for i, line := range bytes.Split(data, []byte("\n")) {
		line = bytes.TrimSpace(line)
		if len(line) == 0 || line[0] == '#' {
			continue
		}
		k, err := base64.StdEncoding.DecodeString(string(line))
		if err != nil || len(k) != KeySize {
			return nil, fmt.Errorf("line %d is not a base64-encoded %d-byte key (the file holds %d bytes: either one raw %d-byte key or base64 keys a line)", i+1, KeySize, len(data), KeySize)
		}
		keys = append(keys, k)
	}
	if len(keys) == 0 {
		return nil, fmt.Errorf("holds no key (%d bytes)", len(data))
	}
	return keys, nil
}

func parseEnv(env string) ([][]byte, error) {
	var keys [][]byte
	for _, f := range strings.FieldsFunc(env, func(r rune) bool { return r == ',' || r == ' ' || r == '\n' || r == '\t' || r == '\r' }) {
		k, err := base64.StdEncoding.DecodeString(f)
		if err != nil || len(k) != KeySize {
			return nil, errors.New("secret: HYBRIDSYNC_SECRET_KEY must be 32-byte keys, base64-encoded, newest first, separated by commas")
		}
		keys = append(keys, k)
	}
	return keys, nil
}
