package cloud

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"net/url"
)

// OnPremisesSync is the tenant's onPremisesDirectorySynchronization object
// (GET /directory/onPremisesSynchronization); its id is the tenant id.
type OnPremisesSync struct {
	ID            string                      `json:"id"`
	Configuration OnPremisesSyncConfiguration `json:"configuration"`
	Features      OnPremisesSyncFeatures      `json:"features"`
}

// OnPremisesSyncConfiguration is onPremisesDirectorySynchronizationConfiguration.
type OnPremisesSyncConfiguration struct {
	AccidentalDeletionPrevention AccidentalDeletionPrevention `json:"accidentalDeletionPrevention"`
}

// Accidental deletion prevention types (onPremisesAccidentalDeletionPrevention).
const (
	DeletionPreventionDisabled   = "disabled"
	DeletionPreventionCount      = "enabledForCount"
	DeletionPreventionPercentage = "enabledForPercentage"
)

// AccidentalDeletionPrevention is onPremisesAccidentalDeletionPrevention:
// AlertThreshold is a number of objects or a percentage, per the type.
type AccidentalDeletionPrevention struct {
	SynchronizationPreventionType string `json:"synchronizationPreventionType"`
	AlertThreshold                int    `json:"alertThreshold"`
}

// OnPremisesSyncFeatures is onPremisesDirectorySynchronizationFeature (v1.0).
type OnPremisesSyncFeatures struct {
	BlockCloudObjectTakeoverThroughHardMatchEnabled  bool `json:"blockCloudObjectTakeoverThroughHardMatchEnabled"`
	BlockSoftMatchEnabled                            bool `json:"blockSoftMatchEnabled"`
	BypassDirSyncOverridesEnabled                    bool `json:"bypassDirSyncOverridesEnabled"`
	CloudPasswordPolicyForPasswordSyncedUsersEnabled bool `json:"cloudPasswordPolicyForPasswordSyncedUsersEnabled"`
	ConcurrentCredentialUpdateEnabled                bool `json:"concurrentCredentialUpdateEnabled"`
	ConcurrentOrgIDProvisioningEnabled               bool `json:"concurrentOrgIdProvisioningEnabled"`
	DeviceWritebackEnabled                           bool `json:"deviceWritebackEnabled"`
	DirectoryExtensionsEnabled                       bool `json:"directoryExtensionsEnabled"`
	FopeConflictResolutionEnabled                    bool `json:"fopeConflictResolutionEnabled"`
	GroupWriteBackEnabled                            bool `json:"groupWriteBackEnabled"`
	PasswordSyncEnabled                              bool `json:"passwordSyncEnabled"`
	// PasswordWritebackEnabled "isn't in use and updating it isn't supported".
	PasswordWritebackEnabled                    bool `json:"passwordWritebackEnabled"`
	QuarantineUponProxyAddressesConflictEnabled bool `json:"quarantineUponProxyAddressesConflictEnabled"`
	QuarantineUponUpnConflictEnabled            bool `json:"quarantineUponUpnConflictEnabled"`
	SoftMatchOnUpnEnabled                       bool `json:"softMatchOnUpnEnabled"`
	SynchronizeUpnForManagedUsersEnabled        bool `json:"synchronizeUpnForManagedUsersEnabled"`
	UnifiedGroupWritebackEnabled                bool `json:"unifiedGroupWritebackEnabled"`
	UserForcePasswordChangeOnLogonEnabled       bool `json:"userForcePasswordChangeOnLogonEnabled"`
	UserWritebackEnabled                        bool `json:"userWritebackEnabled"`
}

// OnPremisesSync reads the tenant's directory synchronization settings. The
// collection GET answers {"value":[…]}; a single entity is accepted too.
// Delegated only, Global Administrator per the docs (the emulator also
// lets Hybrid Identity Administrator and Global Reader read).
func (c *Client) OnPremisesSync(ctx context.Context) (*OnPremisesSync, error) {
	var raw json.RawMessage
	if err := c.do(ctx, http.MethodGet, "directory/onPremisesSynchronization", nil, &raw); err != nil {
		return nil, err
	}
	var coll struct {
		Value *[]OnPremisesSync `json:"value"`
	}
	if err := json.Unmarshal(raw, &coll); err != nil {
		return nil, fmt.Errorf("cloud: unable to decode onPremisesSynchronization: %w", err)
	}
	if coll.Value != nil {
		if len(*coll.Value) == 0 {
			return nil, errors.New("cloud: GET /directory/onPremisesSynchronization returned no object")
		}
		return &(*coll.Value)[0], nil
	}
	var one OnPremisesSync
	if err := json.Unmarshal(raw, &one); err != nil {
		return nil, fmt.Errorf("cloud: unable to decode onPremisesSynchronization: %w", err)
	}
	return &one, nil
}

// UpdateOnPremisesSync patches the settings (PATCH
// /directory/onPremisesSynchronization/{id}), e.g.
//
//	{"features": {"blockSoftMatchEnabled": true},
//	 "configuration": {"accidentalDeletionPrevention": {"synchronizationPreventionType": "enabledForCount", "alertThreshold": 500}}}
//
// Global Administrator only (delegated); application tokens are refused.
func (c *Client) UpdateOnPremisesSync(ctx context.Context, id string, patch map[string]any) error {
	return c.do(ctx, http.MethodPatch, "directory/onPremisesSynchronization/"+url.PathEscape(id), patch, nil)
}

// SetOnPremisesSyncEnabled turns directory synchronization on or off for the
// tenant (PATCH /organization/{id} {"onPremisesSyncEnabled": on}), as
// Microsoft's "Turn off directory synchronization" article does with a
// Hybrid Identity Administrator. Turning it off takes up to 72 hours in a
// real tenant, and it cannot be turned on again meanwhile.
func (c *Client) SetOnPremisesSyncEnabled(ctx context.Context, orgID string, on bool) error {
	return c.do(ctx, http.MethodPatch, "organization/"+url.PathEscape(orgID), map[string]any{"onPremisesSyncEnabled": on}, nil)
}
