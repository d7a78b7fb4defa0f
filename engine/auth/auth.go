// Package auth holds the console's roles (the seed's four sync groups), password
// hashing and random tokens.
package auth

import (
	"crypto/rand"
	"crypto/sha256"
	"crypto/subtle"
	"encoding/base64"
	"encoding/hex"
	"errors"
	"fmt"
	"strings"

	"golang.org/x/crypto/argon2"
)

// Role is the key of one of the four sync groups. Accounts are members of groups
// by role key; the group's display name is configurable ("custom sync groups").
type Role string

const (
	Admins      Role = "admins"      // Administrators: everything
	Operators   Role = "operators"   // Operators: run and view sync
	Browse      Role = "browse"      // Browse: read-only, the helpdesk
	PasswordSet Role = "passwordset" // Password Reset
)

// Roles lists the four sync groups in the seed's order.
var Roles = []Role{Admins, Operators, Browse, PasswordSet}

// DefaultGroupNames are the groups' names unless "Specify custom sync groups" is used.
var DefaultGroupNames = map[Role]string{
	Admins:      "ADSyncAdmins",
	Operators:   "ADSyncOperators",
	Browse:      "ADSyncBrowse",
	PasswordSet: "ADSyncPasswordSet",
}

// Label is the seed's name for a role.
func (r Role) Label() string {
	switch r {
	case Admins:
		return "Administrators"
	case Operators:
		return "Operators"
	case Browse:
		return "Browse"
	case PasswordSet:
		return "Password Reset"
	}
	return string(r)
}

// Valid reports whether r is one of the four roles.
func (r Role) Valid() bool { _, ok := DefaultGroupNames[r]; return ok }

// Satisfies reports whether holding the roles in have grants what need asks for.
// Administrators can do everything; Operators can do what Browse can; Password
// Reset grants only itself.
func Satisfies(have []string, need Role) bool {
	for _, h := range have {
		switch Role(h) {
		case Admins:
			return true
		case need:
			return true
		case Operators:
			if need == Browse {
				return true
			}
		}
	}
	return false
}

// Password hashing: argon2id, a slow, memory-hard KDF.
const (
	argonTime    = 2
	argonMemory  = 64 * 1024 // KiB
	argonThreads = 2
	argonKeyLen  = 32
)

// HashPassword returns an encoded argon2id hash with its parameters and salt.
func HashPassword(password string) (string, error) {
	salt := make([]byte, 16)
	if _, err := rand.Read(salt); err != nil {
		return "", fmt.Errorf("auth: unable to make a salt: %w", err)
	}
	key := argon2.IDKey([]byte(password), salt, argonTime, argonMemory, argonThreads, argonKeyLen)
	return fmt.Sprintf("$argon2id$v=%d$m=%d,t=%d,p=%d$%s$%s", argon2.Version, argonMemory, argonTime, argonThreads,
		base64.RawStdEncoding.EncodeToString(salt), base64.RawStdEncoding.EncodeToString(key)), nil
}

// ErrBadHash is returned for a stored hash that cannot be parsed.
var ErrBadHash = errors.New("auth: malformed password hash")

// CheckPassword reports whether password matches an encoded hash.
func CheckPassword(encoded, password string) (bool, error) {
	parts := strings.Split(encoded, "$")
	if len(parts) != 6 || parts[1] != "argon2id" {
		return false, ErrBadHash
	}
	var m, t uint32
	var p uint8
	if _, err := fmt.Sscanf(parts[3], "m=%d,t=%d,p=%d", &m, &t, &p); err != nil {
		return false, ErrBadHash
	}
	salt, err := base64.RawStdEncoding.DecodeString(parts[4])
	if err != nil {
		return false, ErrBadHash
	}
	want, err := base64.RawStdEncoding.DecodeString(parts[5])
	if err != nil {
		return false, ErrBadHash
	}
	got := argon2.IDKey([]byte(password), salt, t, m, p, uint32(len(want)))
	return subtle.ConstantTimeCompare(got, want) == 1, nil
}

// DummyCheck spends the same time as CheckPassword, so that an unknown username
// cannot be told from a wrong password by timing.
func DummyCheck(password string) {
	argon2.IDKey([]byte(password), make([]byte, 16), argonTime, argonMemory, argonThreads, argonKeyLen)
}

// Token returns n random bytes, URL-safe base64 encoded.
func Token(n int) string {
	b := make([]byte, n)
	if _, err := rand.Read(b); err != nil {
		panic("auth: crypto/rand failed: " + err.Error()) // cannot happen on Linux
	}
	return base64.RawURLEncoding.EncodeToString(b)
}

// HashToken is the stored form of a high-entropy token (setup token, session id).
// Such tokens need no slow KDF: they cannot be guessed.
func HashToken(tok string) string {
	sum := sha256.Sum256([]byte(tok))
	return hex.EncodeToString(sum[:])
}

// ValidatePassword returns what is wrong with a new password, or "".
func ValidatePassword(pw, username string) string {
	switch {
	case len([]rune(pw)) < 12:
		return "Use at least 12 characters."
	case len(pw) > 256:
		return "Use at most 256 characters."
	case username != "" && strings.Contains(strings.ToLower(pw), strings.ToLower(username)):
		return "The password must not contain the username."
	}
	return ""
}

// ValidateUsername returns what is wrong with a new username, or "".
func ValidateUsername(u string) string {
	if u == "" {
		return "Enter a username."
	}
	if len(u) > 64 {
		return "Use at most 64 characters."
	}
	for _, r := range u {
		if !(r >= 'a' && r <= 'z' || r >= 'A' && r <= 'Z' || r >= '0' && r <= '9' || strings.ContainsRune("._-@", r)) {
			return "Use letters, digits, dots, hyphens, underscores and @ only."
		}
	}
	return ""
}
