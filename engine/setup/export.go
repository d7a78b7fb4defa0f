package setup

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"strings"
	"time"

	"github.com/hybridsync/hybridsync/engine/auth"
	"github.com/hybridsync/hybridsync/engine/store"
)

// ProductVersion is hybridsync's version, written into exports.
var ProductVersion = "0.1.0"

// The settings file: what "Import synchronization settings" reads and the export
// of the active configuration writes. docs/settings-format.md describes it. It
// never holds a secret, and never the database choice as something to import:
// where the database lives belongs to each server.
const (
	ExportFormat  = "hybridsync-settings"
	ExportVersion = 1
	// MaxExportSize bounds what an import reads.
	MaxExportSize = 1 << 20
)

// Export is a settings file.
type Export struct {
	Format     string         `json:"format"`
	Version    int            `json:"version"`
	ExportedAt string         `json:"exportedAt"`
	ExportedBy string         `json:"exportedBy"`
	Product    ExportProduct  `json:"product"`
	Source     ExportSource   `json:"source"`
	Settings   ExportSettings `json:"settings"`
}

type ExportProduct struct {
	Name    string `json:"name"`
	Version string `json:"version"`
}

// ExportSource says which configuration the file came from.
type ExportSource struct {
	InstallID       string `json:"installId"`
	ConfigurationID int64  `json:"configurationId"`
	AppliedAt       string `json:"appliedAt"`
	AppliedBy       string `json:"appliedBy"`
}

// ExportSettings are the settings themselves.
type ExportSettings struct {
	SignIn     SignIn            `json:"signIn"`
	Features   Features          `json:"features"`
	Ready      Ready             `json:"ready"`
	SyncGroups map[string]string `json:"syncGroups"`
	// Database describes where the exporting server kept its data; informational.
	Database string `json:"database"`
}

// NewExport makes the settings file of a configuration.
func NewExport(a Answers, src ExportSource, by, dataDir string, now time.Time) Export {
	return Export{
		Format: ExportFormat, Version: ExportVersion,
		ExportedAt: now.UTC().Format(time.RFC3339), ExportedBy: by,
		Product: ExportProduct{Name: "hybridsync", Version: ProductVersion},
		Source:  src,
		Settings: ExportSettings{
			SignIn: a.SignIn, Features: a.Features, Ready: a.Ready,
			SyncGroups: a.Components.SyncGroupNames(),
			Database:   a.Components.Describe(dataDir),
		},
	}
}

// ParseExport reads and checks a settings file. Its errors are worded for the admin.
func ParseExport(data []byte) (Export, error) {
	if len(data) == 0 {
		return Export{}, errors.New("The settings file is empty.")
	}
	if len(data) > MaxExportSize {
		return Export{}, fmt.Errorf("The settings file is larger than %d KiB; it is not a hybridsync settings export.", MaxExportSize>>10)
	}
	var x Export
	dec := json.NewDecoder(bytes.NewReader(data))
	dec.DisallowUnknownFields()
	if err := dec.Decode(&x); err != nil {
		return Export{}, fmt.Errorf("The settings file is not valid JSON of a hybridsync settings export (%s).", jsonProblem(err))
	}
	if _, err := dec.Token(); err != io.EOF {
		return Export{}, errors.New("The settings file has data after its end; it is not a hybridsync settings export.")
	}
	if x.Format != ExportFormat {
		return Export{}, errors.New("This file is not a hybridsync settings export.")
	}
	if x.Version != ExportVersion {
		return Export{}, fmt.Errorf("The settings file has format version %d; this hybridsync reads version %d.", x.Version, ExportVersion)
	}
	a := Defaults()
	x.ApplyTo(&a)
	for _, check := range []struct {
		page string
		errs Errors
	}{{"User sign-in", validateSignIn(a.SignIn)}, {"Optional features", validateFeatures(&a)}} {
		for _, f := range check.errs.Fields() {
			return Export{}, fmt.Errorf("The file's %s settings are not valid: %s", check.page, check.errs[f])
		}
	}
	for role, name := range x.Settings.SyncGroups {
		if !auth.Role(role).Valid() {
			return Export{}, fmt.Errorf("The settings file names an unknown sync group %q.", role)
		}
		if msg := checkGroupName(name); msg != "" {
			return Export{}, fmt.Errorf("The settings file's sync group %q is not valid: %s", name, msg)
		}
	}
	// The names as ApplyTo will set them (a group the file leaves out keeps its
	// default name), compared case-insensitively as the components page does.
	seen := map[string]bool{}
	for _, r := range auth.Roles {
		name := x.Settings.SyncGroups[string(r)]
		if name == "" {
			name = auth.DefaultGroupNames[r]
		}
		if seen[strings.ToLower(name)] {
			return Export{}, fmt.Errorf("The settings file uses the group name %q twice.", name)
		}
		seen[strings.ToLower(name)] = true
	}
	return x, nil
}

func jsonProblem(err error) string {
	var se *json.SyntaxError
	var te *json.UnmarshalTypeError
	switch {
	case errors.As(err, &se):
		return fmt.Sprintf("syntax error at byte %d", se.Offset)
	case errors.As(err, &te):
		return fmt.Sprintf("%s has the wrong type", te.Field)
	}
	return err.Error()
}

// ApplyTo copies the file's settings into the answers.
func (x Export) ApplyTo(a *Answers) {
	a.SignIn = x.Settings.SignIn
	legacy := a.Features.LegacySyncActive
	a.Features = x.Settings.Features
	a.Features.LegacySyncActive = a.Features.LegacySyncActive || legacy
	a.Features.Requires = nil
	if a.Features.GroupWriteback {
		a.Features.Requires = []string{RequireExchangeSchema}
	}
	a.Ready = x.Settings.Ready
	custom := false
	for _, r := range auth.Roles {
		if n := x.Settings.SyncGroups[string(r)]; n != "" && n != auth.DefaultGroupNames[r] {
			custom = true
		}
	}
	a.Components.CustomGroups = custom
	a.Components.GroupNames = nil
	if custom {
		a.Components.GroupNames = map[string]string{}
		for _, r := range auth.Roles {
			n := x.Settings.SyncGroups[string(r)]
			if n == "" {
				n = auth.DefaultGroupNames[r]
			}
			a.Components.GroupNames[string(r)] = n
		}
	}
}

// ConfigurationAnswers decodes the answers a configuration was applied with.
func ConfigurationAnswers(cfg store.Configuration) (Answers, error) {
	a := Defaults()
	if err := json.Unmarshal(cfg.Answers, &a); err != nil {
		return a, fmt.Errorf("setup: configuration %d is corrupt: %w", cfg.ID, err)
	}
	return a, nil
}

// ExportConfiguration makes the settings file of an applied configuration.
func ExportConfiguration(cfg store.Configuration, by, dataDir string, now time.Time) (Export, error) {
	a, err := ConfigurationAnswers(cfg)
	if err != nil {
		return Export{}, err
	}
	src := ExportSource{InstallID: cfg.InstallID, ConfigurationID: cfg.ID, AppliedAt: cfg.AppliedAt.UTC().Format(time.RFC3339), AppliedBy: cfg.AppliedBy}
	return NewExport(a, src, by, dataDir, now), nil
}
