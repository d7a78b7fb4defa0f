package cloud_test

import (
	"context"
	"strings"
	"testing"

	"github.com/hybridsync/hybridsync/e2e/tenant"
	"github.com/hybridsync/hybridsync/engine/cloud"
)

func TestApplicationsAndExtensions(t *testing.T) {
	e := start(t, tenant.Options{}, cloud.Config{})
	ctx := context.Background()
	const name = "Tenant Schema Extension App"
	if apps, err := e.client.FindApplications(ctx, "displayName eq "+cloud.Quote(name)); err != nil || len(apps) != 0 {
		t.Fatalf("FindApplications before = %+v, %v", apps, err)
	}
	app, err := e.client.CreateApplication(ctx, name)
	if err != nil || app.ID == "" || app.AppID == "" || app.DisplayName != name {
		t.Fatalf("CreateApplication = %+v, %v", app, err)
	}
	if apps, err := e.client.FindApplications(ctx, "displayName eq "+cloud.Quote(name)); err != nil || len(apps) != 1 || apps[0] != *app {
		t.Fatalf("FindApplications = %+v, %v", apps, err)
	}
	x, err := e.client.CreateExtensionProperty(ctx, app.ID, cloud.ExtensionProperty{Name: "division", DataType: "String", TargetObjects: []string{"User", "Group"}})
	full := cloud.ExtensionName(app.AppID, "division")
	if err != nil || x.Name != full || x.ID == "" || x.AppDisplayName != name || !strings.HasPrefix(full, "extension_") || strings.Count(full, "-") != 0 {
		t.Fatalf("CreateExtensionProperty = %+v, %v (want %s)", x, err, full)
	}
	if xs, err := e.client.ExtensionProperties(ctx, app.ID); err != nil || len(xs) != 1 || xs[0].Name != full {
		t.Fatalf("ExtensionProperties = %+v, %v", xs, err)
	}

	u, err := e.client.CreateUser(ctx, newUser(1, "contoso.example.test"))
	if err != nil {
		t.Fatal(err)
	}
	// Without a service principal the extension is not available.
	if err := e.client.UpdateUser(ctx, u.ID, map[string]any{full: "Sales"}); !cloud.IsExtensionUnavailable(err) {
		t.Fatalf("before the service principal: %v", err)
	}
	if sp, err := e.client.FindServicePrincipal(ctx, app.AppID); err != nil || sp != nil {
		t.Fatalf("FindServicePrincipal before = %+v, %v", sp, err)
	}
	if sp, err := e.client.CreateServicePrincipal(ctx, app.AppID); err != nil || sp.AppID != app.AppID || sp.ID == "" {
		t.Fatalf("CreateServicePrincipal = %+v, %v", sp, err)
	}
	if sp, err := e.client.FindServicePrincipal(ctx, app.AppID); err != nil || sp == nil {
		t.Fatalf("FindServicePrincipal = %+v, %v", sp, err)
	}
	if err := e.client.UpdateUser(ctx, u.ID, map[string]any{full: "Sales"}); err != nil {
		t.Fatal(err)
	}
	if vals, err := e.client.ExtensionValues(ctx, "users", u.ID, []string{full}); err != nil || vals[full] != "Sales" {
		t.Fatalf("ExtensionValues = %v, %v", vals, err)
	}
	if err := e.client.UpdateUser(ctx, u.ID, map[string]any{cloud.ExtensionName(app.AppID, "other"): "x"}); !cloud.IsExtensionUnavailable(err) {
		t.Fatalf("an unregistered extension: %v", err)
	}
}
