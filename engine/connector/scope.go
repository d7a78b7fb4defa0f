package connector

import (
	"slices"
	"strings"

	"github.com/hybridsync/hybridsync/engine/setup"
)

// Reasons an object is in or out of scope, worded for the helpdesk.
const (
	ReasonInScope        = "In a domain and OU that Domain and OU filtering selects."
	ReasonPilotMember    = "In a selected OU and a direct member of the pilot group %s."
	ReasonDomainNotSel   = "Its domain %s is not selected in Domain and OU filtering."
	ReasonExcludedOU     = "In %s, which Domain and OU filtering leaves out."
	ReasonNewOU          = "In %s, created after Domain and OU filtering was saved: new OUs aren't synchronized (Sync all new OUs is off). Select it on Domain and OU filtering and run Configure again."
	ReasonNotPilotMember = "Not a direct member of the pilot group %s: group filtering synchronizes only the group's direct members (nested members are not)."
	ReasonDeleted        = "Deleted in Active Directory."
	ReasonGone           = "No longer found in Active Directory by a full import (deleted, or moved out of the domain)."
	ReasonWrittenBack    = "A group written back from Microsoft Entra ID (adminDescription %s): never imported back as an object of its own, as Microsoft Entra Connect's filter on the Group_ prefix does."
)

// WrittenBackPrefix starts the adminDescription of a group that group
// writeback wrote (Group_<objectId>); Microsoft Entra Connect's inbound rules
// filter such groups out (research B1.2: adminDescription is "used for
// filtering out AD to cloud sync").
const WrittenBackPrefix = "Group_"

// WrittenBack reports whether o is a group written back from the tenant.
func WrittenBack(o *Object) bool {
	return o.Class == ClassGroup && strings.HasPrefix(o.Attr("admindescription"), WrittenBackPrefix)
}

// Scope decides which objects sync keeps: domain and OU filtering first (with
// Sync all new OUs off, an object in an OU created after Configure recorded
// the containers is left out: setup.ForestFilter.Known), then group filtering
// (direct members of the pilot group only), as the seed says.
type Scope struct {
	// Filter is the forest's Domain and OU filtering answer.
	Filter setup.ForestFilter
	// PilotGroup is the pilot group's DN ("" when everything is synchronized).
	PilotGroup string
	// pilot holds the pilot group's direct members (lower-case DNs).
	pilot map[string]bool
	// known indexes Filter.Known, built by ScopeFor or else on the first
	// Decide: a Scope built by hand must not be shared between goroutines
	// before that (Import gives each domain its own copy, and calls Decide
	// one page at a time).
	known setup.KnownSet
}

// ScopeFor is a forest's Scope from the wizard's answers. With Sync all new
// OUs on, the recorded containers are ignored.
func ScopeFor(a *setup.Answers, forest string) Scope {
	s := Scope{Filter: a.OUFiltering.Forests[forest]}
	if a.OUFiltering.SyncNewOUs {
		s.Filter.Known = nil // new OUs are synchronized: no container is new
	}
	s.known = s.Filter.KnownSet()
	if a.GroupFiltering.Mode == setup.GroupModeGroup {
		s.PilotGroup = a.GroupFiltering.Forests[forest].Group.DN
	}
	return s
}

// SetPilotMembers records the pilot group's direct members.
func (s *Scope) SetPilotMembers(dns []string) {
	s.pilot = make(map[string]bool, len(dns))
	for _, dn := range dns {
		s.pilot[strings.ToLower(dn)] = true
	}
}

// AddPilotMember and RemovePilotMember follow a delta of the pilot group.
func (s *Scope) AddPilotMember(dn string) {
	if s.pilot == nil {
		s.pilot = map[string]bool{}
	}
	s.pilot[strings.ToLower(dn)] = true
}

// RemovePilotMember forgets a pilot group member.
func (s *Scope) RemovePilotMember(dn string) { delete(s.pilot, strings.ToLower(dn)) }

// IsPilot reports whether dn is the pilot group.
func (s *Scope) IsPilot(dn string) bool {
	return s.PilotGroup != "" && strings.EqualFold(dn, s.PilotGroup)
}

// DomainSelected reports whether a domain (its DN) is selected.
func (s *Scope) DomainSelected(domainDN string) bool { return s.Filter.Selected(domainDN) }

// Decide says whether the object at dn in domain is in scope, and why.
func (s *Scope) Decide(dn, domainDN string) (bool, string) {
	if !s.Filter.Selected(domainDN) {
		return false, sprintf(ReasonDomainNotSel, domainDN)
	}
	if x := s.excludedBy(dn); x != "" {
		return false, sprintf(ReasonExcludedOU, x)
	}
	if len(s.Filter.Known) > 0 {
		if s.known == nil {
			s.known = s.Filter.KnownSet()
		}
		if ou := s.known.NewAbove(dn, domainDN); ou != "" {
			return false, sprintf(ReasonNewOU, ou)
		}
	}
	if s.PilotGroup == "" {
		return true, ReasonInScope
	}
	if !s.pilot[strings.ToLower(dn)] {
		return false, sprintf(ReasonNotPilotMember, s.PilotGroup)
	}
	return true, sprintf(ReasonPilotMember, s.PilotGroup)
}

// DecideObject is Decide for an object read with its attributes: a group
// written back from the tenant is out of scope wherever it is.
func (s *Scope) DecideObject(o *Object, domainDN string) (bool, string) {
	if WrittenBack(o) {
		return false, sprintf(ReasonWrittenBack, o.Attr("admindescription"))
	}
	return s.Decide(o.DN, domainDN)
}

// excludedBy is the excluded (or unreachable) container that holds dn, the
// nearest one when several do, or "".
func (s *Scope) excludedBy(dn string) string {
	l := strings.ToLower(dn)
	best := ""
	for _, x := range append(slices.Clone(s.Filter.Excluded), s.Filter.Unreachable...) {
		lx := strings.ToLower(x)
		if (l == lx || strings.HasSuffix(l, ","+lx)) && len(x) > len(best) {
			best = x
		}
	}
	return best
}
