// What each tenant role may do, as far as the console shows write controls. The server checks
// every request itself; this only hides buttons a role cannot use (a VIEWER sees none).

const IDENTITY_WRITERS = new Set(['OWNER', 'ADMIN', 'SUPPORT']);

/** Creating, changing, suspending and deleting identities, and ending their sessions. */
export function canWriteIdentities(role) {
  return IDENTITY_WRITERS.has(role);
}

/** Inviting administrators, changing their roles and removing them: owners only. */
export function canManageAdministrators(role) {
  return role === 'OWNER';
}

/** The roles an owner may give, in the order the console offers them. */
export const ROLES = ['OWNER', 'ADMIN', 'VIEWER', 'SUPPORT'];

const TENANT_WRITERS = new Set(['OWNER', 'ADMIN']);

/**
 * Every other write of a tenant (organizations, applications, connectors, settings, API keys,
 * providers, tokens, entitlements, jobs): owners and admins. Support staff write identities
 * only; viewers nothing.
 */
export function canWriteTenant(role) {
  return TENANT_WRITERS.has(role);
}

/** Reading secrets' metadata and settings: everyone but support staff. */
export function canReadSettings(role) {
  return role !== 'SUPPORT';
}
