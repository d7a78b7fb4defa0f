package auth

import (
	"strings"
	"testing"
)

func TestHashAndCheckPassword(t *testing.T) {
	h, err := HashPassword("correct horse battery")
	if err != nil {
		t.Fatal(err)
	}
	if !strings.HasPrefix(h, "$argon2id$v=19$m=65536,t=2,p=2$") {
		t.Errorf("hash %q", h)
	}
	h2, _ := HashPassword("correct horse battery")
	if h == h2 {
		t.Error("two hashes of one password are equal: no salt")
	}
	tests := []struct {
		name    string
		hash    string
		pw      string
		want    bool
		wantErr bool
	}{
		{"right", h, "correct horse battery", true, false},
		{"right, other salt", h2, "correct horse battery", true, false},
		{"wrong", h, "correct horse batterY", false, false},
		{"empty", h, "", false, false},
		{"not a hash", "plain", "x", false, true},
		{"bcrypt", "$2a$10$abcdefghijklmnopqrstuv", "x", false, true},
		{"argon2i", strings.Replace(h, "argon2id", "argon2i", 1), "correct horse battery", false, true},
		{"bad params", "$argon2id$v=19$m=x,t=2,p=2$AAAA$AAAA", "x", false, true},
		{"bad salt", "$argon2id$v=19$m=65536,t=2,p=2$!!!$AAAA", "x", false, true},
		{"bad key", "$argon2id$v=19$m=65536,t=2,p=2$AAAA$!!!", "x", false, true},
	}
	for _, tt := range tests {
		got, err := CheckPassword(tt.hash, tt.pw)
		if got != tt.want || (err != nil) != tt.wantErr {
			t.Errorf("%s: CheckPassword = %v, %v; want %v, error %v", tt.name, got, err, tt.want, tt.wantErr)
		}
	}
	// The parameters are read from the hash, so old hashes keep working when the
	// defaults change.
	parts := strings.Split(h, "$")
	if len(parts) != 6 {
		t.Fatal(h)
	}
	DummyCheck("x")
}

func TestSatisfies(t *testing.T) {
	all := []Role{Admins, Operators, Browse, PasswordSet}
	// grants[have][need]
	grants := map[Role]map[Role]bool{
		Admins:      {Admins: true, Operators: true, Browse: true, PasswordSet: true},
		Operators:   {Operators: true, Browse: true},
		Browse:      {Browse: true},
		PasswordSet: {PasswordSet: true},
	}
	for _, have := range all {
		for _, need := range all {
			if got := Satisfies([]string{string(have)}, need); got != grants[have][need] {
				t.Errorf("%s satisfies %s = %v, want %v", have, need, got, !got)
			}
		}
	}
	tests := []struct {
		have []string
		need Role
		want bool
	}{
		{nil, Browse, false},
		{[]string{}, PasswordSet, false},
		{[]string{"ADSyncAdmins"}, Admins, false}, // group names are not role keys
		{[]string{"browse", "passwordset"}, Operators, false},
		{[]string{"passwordset", "operators"}, Browse, true},
		{[]string{"browse", "admins"}, PasswordSet, true},
		{[]string{"Admins"}, Browse, false}, // keys are exact
	}
	for _, tt := range tests {
		if got := Satisfies(tt.have, tt.need); got != tt.want {
			t.Errorf("Satisfies(%v, %s) = %v, want %v", tt.have, tt.need, got, tt.want)
		}
	}
}

func TestRoles(t *testing.T) {
	labels := map[Role]string{Admins: "Administrators", Operators: "Operators", Browse: "Browse", PasswordSet: "Password Reset"}
	for _, r := range Roles {
		if !r.Valid() || r.Label() != labels[r] || DefaultGroupNames[r] == "" {
			t.Errorf("role %s: valid %v label %q default %q", r, r.Valid(), r.Label(), DefaultGroupNames[r])
		}
	}
	if Role("root").Valid() || Role("root").Label() != "root" {
		t.Error("an unknown role")
	}
	if len(Roles) != 4 || len(DefaultGroupNames) != 4 {
		t.Error("the seed has four sync groups")
	}
}

func TestValidatePassword(t *testing.T) {
	tests := []struct {
		pw, user string
		want     string
	}{
		{"short", "", "at least 12"},
		{"ééééééééééé", "", "at least 12"}, // 11 runes, 22 bytes
		{"éééééééééééé", "", ""},
		{strings.Repeat("a", 256), "", ""},
		{strings.Repeat("a", 257), "", "at most 256"},
		{"xxAliceSecret99", "alice", "must not contain the username"},
		{"long enough password", "", ""},
		{"long enough password", "bob", ""},
	}
	for _, tt := range tests {
		got := ValidatePassword(tt.pw, tt.user)
		if tt.want == "" && got != "" || !strings.Contains(got, tt.want) {
			t.Errorf("ValidatePassword(%q, %q) = %q, want %q", tt.pw, tt.user, got, tt.want)
		}
	}
}

func TestValidateUsername(t *testing.T) {
	tests := []struct {
		u    string
		want string
	}{
		{"", "Enter a username."},
		{"alice", ""},
		{"a.b-c_d@contoso.com", ""},
		{"Alice99", ""},
		{strings.Repeat("a", 64), ""},
		{strings.Repeat("a", 65), "at most 64"},
		{"al ice", "letters, digits"},
		{`CONTOSO\alice`, "letters, digits"},
		{"élise", "letters, digits"},
		{"<script>", "letters, digits"},
	}
	for _, tt := range tests {
		got := ValidateUsername(tt.u)
		if tt.want == "" && got != "" || !strings.Contains(got, tt.want) {
			t.Errorf("ValidateUsername(%q) = %q, want %q", tt.u, got, tt.want)
		}
	}
}

func TestTokens(t *testing.T) {
	a, b := Token(32), Token(32)
	if a == b || len(a) != 43 || strings.ContainsAny(a, "+/=") {
		t.Errorf("tokens %q %q", a, b)
	}
	if HashToken(a) == HashToken(b) || HashToken(a) != HashToken(a) || len(HashToken(a)) != 64 {
		t.Error("HashToken")
	}
}
