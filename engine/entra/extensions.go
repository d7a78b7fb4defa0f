package entra

import (
	"context"
	"fmt"
	"strings"

	"github.com/hybridsync/hybridsync/engine/cloud"
)

// SchemaExtensionAppName is the application Microsoft Entra Connect keeps
// the directory extensions it syncs on: each is an extensionProperty of it,
// named extension_<its appId without dashes>_<attribute>.
const SchemaExtensionAppName = "Tenant Schema Extension App"

// ExtensionDef is a directory extension to register: the attribute's name as
// the forest's schema spells it, its Graph dataType (String, Integer,
// Boolean, Binary) and whether it is multi-valued.
type ExtensionDef struct {
	Name        string
	DataType    string
	MultiValued bool
}

// extensionTargets are the objects the synced extensions are written on.
var extensionTargets = []string{"User", "Group"}

// RegisterExtensions makes the tenant ready for the directory extensions, as
// Microsoft Entra Connect does: it finds the Tenant Schema Extension App
// (GET /applications?$filter=displayName eq '…') or creates it, gives it a
// service principal if it has none (Graph accepts an extension's values only
// then), and registers each extension that is not registered yet on users
// and groups. It returns the application's appId and a line per thing done.
func RegisterExtensions(ctx context.Context, g *cloud.Client, defs []ExtensionDef) (appID string, done []string, err error) {
	apps, err := g.FindApplications(ctx, "displayName eq "+cloud.Quote(SchemaExtensionAppName))
	if err != nil {
		return "", nil, graphError(err, "", "look up the "+SchemaExtensionAppName)
	}
	var app *cloud.Application
	switch len(apps) {
	case 0:
		if app, err = g.CreateApplication(ctx, SchemaExtensionAppName); err != nil {
			return "", nil, graphError(err, "", "create the "+SchemaExtensionAppName+" that holds the directory extensions")
		}
		done = append(done, fmt.Sprintf("Created the %s (application id %s)", SchemaExtensionAppName, app.AppID))
	default:
		// Several (another installation made one too): the oldest listed,
		// as Graph lists them, is kept.
		app = &apps[0]
		done = append(done, fmt.Sprintf("Found the %s (application id %s)", SchemaExtensionAppName, app.AppID))
	}
	sp, err := g.FindServicePrincipal(ctx, app.AppID)
	if err != nil {
		return "", done, graphError(err, "", "look up the service principal of the "+SchemaExtensionAppName)
	}
	if sp == nil {
		if _, err := g.CreateServicePrincipal(ctx, app.AppID); err != nil {
			return "", done, graphError(err, "", "create the service principal of the "+SchemaExtensionAppName)
		}
		done = append(done, "Created its service principal: Microsoft Entra ID accepts directory extension values only once the application has one")
	}
	have, err := g.ExtensionProperties(ctx, app.ID)
	if err != nil {
		return "", done, graphError(err, "", "read the directory extensions of the "+SchemaExtensionAppName)
	}
	byName := map[string]cloud.ExtensionProperty{}
	for _, x := range have {
		byName[strings.ToLower(x.Name)] = x
	}
	for _, d := range defs {
		full := cloud.ExtensionName(app.AppID, d.Name)
		if x, ok := byName[strings.ToLower(full)]; ok {
			if x.DataType != d.DataType || x.IsMultiValued != d.MultiValued {
				return "", done, &Error{Msg: fmt.Sprintf("The directory extension %s is registered as %s, but %s is chosen as %s. Microsoft Entra ID can't change a registered extension: remove %s from the directory extensions, or delete the extension in the tenant.",
					full, describe(x.DataType, x.IsMultiValued), d.Name, describe(d.DataType, d.MultiValued), d.Name)}
			}
			continue
		}
		x, err := g.CreateExtensionProperty(ctx, app.ID, cloud.ExtensionProperty{Name: d.Name, DataType: d.DataType, IsMultiValued: d.MultiValued, TargetObjects: extensionTargets})
		if err != nil {
			return "", done, graphError(err, "", "register the directory extension "+d.Name)
		}
		done = append(done, fmt.Sprintf("Registered %s (%s) for users and groups", x.Name, describe(x.DataType, x.IsMultiValued)))
	}
	return app.AppID, done, nil
}

func describe(dataType string, multi bool) string {
	if multi {
		return "multi-valued " + dataType
	}
	return dataType
}
