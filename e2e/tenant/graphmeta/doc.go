// Package graphmeta is the part of Microsoft Graph's v1.0 schema that the
// tenant emulator serves: the entity types it answers for (organization,
// domain and its DNS records, user, group, orgContact, device,
// directoryObject, directoryRole, unifiedRoleAssignment,
// unifiedRoleDefinition, application, extensionProperty, servicePrincipal,
// onPremisesDirectorySynchronization, internalDomainFederation), their base
// types, and every complex and enum type their structural properties reach.
// For each property it tells the type, whether it is a collection, nullable,
// read-only, and a navigation property.
//
// The table, v1.0.tsv, is generated from Microsoft's own metadata and is not
// edited by hand. Its first lines name the sources by repository, path and
// commit (see Source and Descriptions):
//
//   - the types and properties: clean_v10_metadata/cleanMetadata.xml of
//     https://github.com/microsoftgraph/msgraph-metadata;
//   - the documentation's property descriptions, which decide most
//     read-only flags: microsoft-graph.d.ts of
//     https://github.com/microsoftgraph/msgraph-typescript-typings, which
//     Microsoft generates from that repository's
//     cleanMetadataWithDescriptionsv1.0.xml (the descriptions CSDL itself is
//     over 4 MiB and not to be had here; gen reads it too, as -metadata or
//     -descriptions).
//
// The rule that decides read-only (key, Core.V1.Computed, Core.V1.Permissions
// Read, or a description that says "Read-only" without a condition) is in the
// doc comment of e2e/tenant/graphmeta/gen. A property that no source
// describes is writable unless it is a key or annotated; gen lists those.
//
// To regenerate, take the two files at the commits the table names (or newer
// ones) out of the repositories, then run from the module root:
//
//	git -C <msgraph-metadata> show <sha>:clean_v10_metadata/cleanMetadata.xml > /tmp/cleanMetadata.xml
//	git -C <msgraph-typescript-typings> show <sha2>:microsoft-graph.d.ts > /tmp/microsoft-graph.d.ts
//	go run ./e2e/tenant/graphmeta/gen \
//	    -metadata /tmp/cleanMetadata.xml -path clean_v10_metadata/cleanMetadata.xml -commit <sha> \
//	    -descriptions /tmp/microsoft-graph.d.ts -descriptions-commit <sha2> \
//	    -out e2e/tenant/graphmeta/v1.0.tsv
//
// and run this package's tests, which check the facts the emulator relies on.
package graphmeta
