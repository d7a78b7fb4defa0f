package export

import (
	"context"
	"strconv"
	"strings"

	"github.com/hybridsync/hybridsync/engine/cloud"
	"github.com/hybridsync/hybridsync/engine/metaverse"
)

// extType is a directory extension's definition as the tenant holds it.
type extType struct {
	dataType string // Binary, Boolean, DateTime, Integer, LargeInteger or String
	multi    bool
}

// valueTypes are the directory extensions a run writes, by lower-case name.
// Graph refuses an extension value of the wrong JSON type, and the
// metaverse's values are text: the definitions say what to send.
type valueTypes map[string]extType

func isExtension(name string) bool { return strings.HasPrefix(strings.ToLower(name), "extension_") }

// extensionTypes reads the definitions of the directory extensions the
// changes write, from the applications that hold them (the app id is in the
// name: extension_<appId without dashes>_<attribute>). An application the
// account can't read leaves its extensions as text, which Graph takes for
// String extensions.
func (e *Exporter) extensionTypes(ctx context.Context, changes []metaverse.Change) valueTypes {
	apps := map[string]bool{}
	for _, c := range changes {
		for _, a := range c.Attrs {
			if !isExtension(a.Name) {
				continue
			}
			id, _, ok := strings.Cut(strings.TrimPrefix(strings.ToLower(a.Name), "extension_"), "_")
			if ok && len(id) == 32 {
				apps[id] = true
			}
		}
	}
	vt := valueTypes{}
	for id := range apps {
		appID := id[0:8] + "-" + id[8:12] + "-" + id[12:16] + "-" + id[16:20] + "-" + id[20:32]
		found, err := e.g.FindApplications(ctx, "appId eq "+cloud.Quote(appID))
		if err != nil || len(found) == 0 {
			e.log.Warn("export: the directory extensions' application could not be read; their values are sent as text", "appId", appID, "err", err)
			continue
		}
		xs, err := e.g.ExtensionProperties(ctx, found[0].ID)
		if err != nil {
			e.log.Warn("export: the directory extensions could not be read; their values are sent as text", "appId", appID, "err", err)
			continue
		}
		for _, x := range xs {
			vt[strings.ToLower(x.Name)] = extType{dataType: x.DataType, multi: x.IsMultiValued}
		}
	}
	return vt
}

// value is a property's Graph JSON value: a directory extension's by its
// definition, any other's by graphValue.
func (vt valueTypes) value(name string, v []string) any {
	if !isExtension(name) {
		return graphValue(name, v)
	}
	t, known := vt[strings.ToLower(name)]
	if !known {
		t.multi = len(v) > 1
	}
	if len(v) == 0 {
		return nil // clears it (also a multi-valued one)
	}
	one := func(s string) any {
		switch t.dataType {
		case "Boolean":
			return strings.EqualFold(s, "true")
		case "Integer", "LargeInteger":
			if n, err := strconv.ParseInt(s, 10, 64); err == nil {
				return n
			}
		}
		return s // Graph refuses a non-number for a number: the change fails with its answer
	}
	if !t.multi {
		return one(v[0])
	}
	if t.dataType == "Integer" || t.dataType == "LargeInteger" {
		out := make([]any, len(v))
		for i, s := range v {
			out[i] = one(s)
		}
		return out
	}
	return v
}
