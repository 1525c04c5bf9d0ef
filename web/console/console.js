// The admin console's entry: loads the session, routes `/console/…` paths (History API) to
// their screens, and draws the shell (header with the administrator and the tenant picker,
// the nav of the chosen tenant's areas). Every screen renders into a fresh container of
// `#view`, so the answers of a screen left behind land nowhere.
//
// Routes: /console (→ the last tenant chosen), /console/enrol#token=…, /console/t/<slug>
// (overview), /console/t/<slug>/overview, …/identities, …/identities/<id>, …/organizations,
// …/organizations/<id>, …/applications, …/applications/<id>, …/connectors,
// …/connectors/<id>, …/audit, …/access, …/directory, …/settings, …/api-keys,
// …/administrators, …/explorer; /console/platform (→ tenants), /console/platform/tenants,
// /console/platform/tenants/<slug>, /console/platform/explorer.

import { renderAccess } from './access.js';
import { onSessionEnded } from './api.js';
import { renderAdministrators } from './administrators.js';
import { renderApiKeys } from './apikeys.js';
import { renderApplication } from './application.js';
import { renderApplications } from './applications.js';
import { renderAudit } from './audit.js';
import { renderConnector } from './connector.js';
import { renderConnectors } from './connectors.js';
import { renderDirectory } from './directory.js';
import { renderEnrol } from './enrol.js';
import { renderExplorer } from './explorer.js';
import { renderIdentities } from './identities.js';
import { renderIdentity } from './identity.js';
import { renderOrganization } from './organization.js';
import { renderOrganizations } from './organizations.js';
import { renderOverview } from './overview.js';
import { renderPlatformTenant, renderPlatformTenants } from './platform.js';
import { currentSession, forgetSession, loadSession, roleOn, signOut } from './session.js';
import { renderSettings } from './settings.js';
import { renderSignIn } from './signin.js';
import { h, replace, showError, showStatus } from './ui.js';

const TENANT_KEY = 'latchkey.console.tenant';

const ROUTES = [
  { pattern: /^\/console\/?$/, name: 'home' },
  { pattern: /^\/console\/enrol\/?$/, name: 'enrol' },
  { pattern: /^\/console\/platform\/explorer\/?$/, name: 'platform-explorer' },
  { pattern: /^\/console\/platform(?:\/tenants)?\/?$/, name: 'platform-tenants' },
  { pattern: /^\/console\/platform\/tenants\/([^/]+)\/?$/, name: 'platform-tenant' },
  { pattern: /^\/console\/t\/([^/]+)(?:\/overview)?\/?$/, name: 'overview' },
  { pattern: /^\/console\/t\/([^/]+)\/identities\/?$/, name: 'identities' },
  { pattern: /^\/console\/t\/([^/]+)\/identities\/([^/]+)\/?$/, name: 'identity' },
  { pattern: /^\/console\/t\/([^/]+)\/organizations\/?$/, name: 'organizations' },
  { pattern: /^\/console\/t\/([^/]+)\/organizations\/([^/]+)\/?$/, name: 'organization' },
  { pattern: /^\/console\/t\/([^/]+)\/applications\/?$/, name: 'applications' },
  { pattern: /^\/console\/t\/([^/]+)\/applications\/([^/]+)\/?$/, name: 'application' },
  { pattern: /^\/console\/t\/([^/]+)\/connectors\/?$/, name: 'connectors' },
  { pattern: /^\/console\/t\/([^/]+)\/connectors\/([^/]+)\/?$/, name: 'connector' },
  { pattern: /^\/console\/t\/([^/]+)\/audit\/?$/, name: 'audit' },
  { pattern: /^\/console\/t\/([^/]+)\/access\/?$/, name: 'access' },
  { pattern: /^\/console\/t\/([^/]+)\/directory\/?$/, name: 'directory' },
  { pattern: /^\/console\/t\/([^/]+)\/settings\/?$/, name: 'settings' },
  { pattern: /^\/console\/t\/([^/]+)\/api-keys\/?$/, name: 'api-keys' },
  { pattern: /^\/console\/t\/([^/]+)\/administrators\/?$/, name: 'administrators' },
  { pattern: /^\/console\/t\/([^/]+)\/explorer\/?$/, name: 'explorer' },
];

/**
 * The tenant areas in the nav: route name, path segment, label, the screens under it (for
 * `aria-current`), and the roles it is not shown to (support staff see no settings or keys).
 */
const AREAS = [
  { name: 'overview', segment: 'overview', label: 'Overview' },
  { name: 'identities', segment: 'identities', label: 'Identities', under: ['identity'] },
  { name: 'organizations', segment: 'organizations', label: 'Organizations', under: ['organization'] },
  { name: 'applications', segment: 'applications', label: 'Applications', under: ['application'] },
  { name: 'connectors', segment: 'connectors', label: 'CRM', under: ['connector'] },
  { name: 'audit', segment: 'audit', label: 'Audit log' },
  { name: 'access', segment: 'access', label: 'Access' },
  { name: 'directory', segment: 'directory', label: 'Directory' },
  { name: 'settings', segment: 'settings', label: 'Settings', under: ['api-keys'], hiddenFor: ['SUPPORT'] },
  { name: 'administrators', segment: 'administrators', label: 'Administrators' },
  { name: 'explorer', segment: 'explorer', label: 'Explorer' },
];

/** The area a screen belongs to (an identity → Identities, API keys → Settings). */
function areaOf(name) {
  return AREAS.find((item) => item.name === name || item.under?.includes(name));
}

const SCREENS = {
  overview: renderOverview,
  identities: renderIdentities,
  identity: renderIdentity,
  organizations: renderOrganizations,
  organization: renderOrganization,
  applications: renderApplications,
  application: renderApplication,
  connectors: renderConnectors,
  connector: renderConnector,
  audit: renderAudit,
  access: renderAccess,
  directory: renderDirectory,
  settings: renderSettings,
  'api-keys': renderApiKeys,
  administrators: renderAdministrators,
  explorer: renderExplorer,
};

const main = document.getElementById('main');
const viewRoot = document.getElementById('view');
const account = document.getElementById('account');
const nav = document.getElementById('nav');
const navList = document.getElementById('nav-list');
const picker = document.getElementById('tenant-picker');
const adminEmail = document.getElementById('admin-email');
const signOutButton = document.getElementById('signout-button');

function match(pathname) {
  for (const route of ROUTES) {
    const found = route.pattern.exec(pathname);
    if (found) return { name: route.name, params: found.slice(1).map(decodeURIComponent) };
  }
  return { name: 'not-found', params: [] };
}

function rememberedTenant(session) {
  let slug = null;
  try {
    slug = localStorage.getItem(TENANT_KEY);
  } catch {
    // Storage may be unavailable; the first tenant is then chosen.
  }
  return session.tenants.find((tenant) => tenant.slug === slug) ?? session.tenants[0] ?? null;
}

function rememberTenant(slug) {
  try {
    localStorage.setItem(TENANT_KEY, slug);
  } catch {
    // See rememberedTenant.
  }
}

/** Where a signed-in administrator starts: the last tenant chosen, else the platform. */
function homePath(session, preferredSlug) {
  const preferred = session.tenants.find((tenant) => tenant.slug === preferredSlug);
  const tenant = preferred ?? rememberedTenant(session);
  if (tenant) return `/console/t/${encodeURIComponent(tenant.slug)}/overview`;
  if (session.platformRole) return '/console/platform/tenants';
  return '/console/t/';
}

/** Goes to `path` in the console (History API) and draws it. */
export function navigate(path, { replace: replacing = false, keepStatus = false } = {}) {
  if (replacing) history.replaceState(null, '', path);
  else history.pushState(null, '', path);
  render({ keepStatus, focus: true });
}

function setTitle(...parts) {
  document.title = [...parts.filter(Boolean), 'Latchkey console'].join(' · ');
}

// ---------------------------------------------------------------------------------------
// The shell

function drawShell(session, { slug, area }) {
  if (!session) {
    account.hidden = true;
    nav.hidden = true;
    return;
  }
  account.hidden = false;
  adminEmail.textContent = session.administrator.email;

  const chosen = session.tenants.find((tenant) => tenant.slug === slug) ?? rememberedTenant(session);
  replace(
    picker,
    session.tenants.map((tenant) => h('option', { value: tenant.slug }, `${tenant.name} (${tenant.slug})`)),
    // An address of a tenant this administrator does not administer: shown, but not theirs.
    slug && !session.tenants.some((tenant) => tenant.slug === slug) ? h('option', { value: slug }, slug) : null,
  );
  picker.value = slug ?? chosen?.slug ?? '';
  picker.parentElement.hidden = session.tenants.length === 0;

  const items = [];
  const tenantSlug = slug && roleOn(slug) ? slug : chosen?.slug;
  if (tenantSlug) {
    const tenantRole = roleOn(tenantSlug);
    for (const item of AREAS) {
      if (item.hiddenFor?.includes(tenantRole)) continue;
      const current = areaOf(area) === item;
      items.push(
        h('li', {}, h('a', { href: `/console/t/${encodeURIComponent(tenantSlug)}/${item.segment}`, 'aria-current': current && slug === tenantSlug ? 'page' : null }, item.label)),
      );
    }
  }
  if (session.platformRole) {
    const tenantsCurrent = area === 'platform-tenants' || area === 'platform-tenant';
    items.push(h('li', { className: 'nav-platform' }, h('a', { href: '/console/platform/tenants', 'aria-current': tenantsCurrent ? 'page' : null }, 'Platform')));
    items.push(h('li', {}, h('a', { href: '/console/platform/explorer', 'aria-current': area === 'platform-explorer' ? 'page' : null }, 'Platform explorer')));
  }
  replace(navList, items);
  nav.hidden = items.length === 0;
}

picker.addEventListener('change', () => {
  const slug = picker.value;
  if (!slug) return;
  rememberTenant(slug);
  const { name } = match(location.pathname);
  const area = areaOf(name);
  navigate(`/console/t/${encodeURIComponent(slug)}/${area?.segment ?? 'overview'}`);
});

signOutButton.addEventListener('click', async () => {
  signOutButton.disabled = true;
  try {
    await signOut();
    history.pushState(null, '', '/console');
    await render({ focus: true });
    showStatus('You are signed out.', 'success');
  } catch (error) {
    showError(error);
  } finally {
    signOutButton.disabled = false;
  }
});

// Links inside the console change the route without loading the page again.
document.addEventListener('click', (event) => {
  if (event.defaultPrevented || event.button !== 0 || event.metaKey || event.ctrlKey || event.shiftKey || event.altKey) return;
  const link = event.target.closest?.('a[href]');
  if (!link || link.target || link.hasAttribute('download')) return;
  const url = new URL(link.href, location.href);
  if (url.origin !== location.origin || !/^\/console(\/|$)/.test(url.pathname)) return;
  if (/^\/console\/(api|assets)\//.test(url.pathname)) return;
  event.preventDefault();
  if (url.hash && url.pathname === location.pathname && url.search === location.search) {
    document.getElementById(url.hash.slice(1))?.focus();
    return;
  }
  navigate(url.pathname + url.search + url.hash);
});

window.addEventListener('popstate', () => render({ focus: true }));

// The server ended the session (sign-out elsewhere, a role change, removal, expiry): back to
// sign-in, on the same address so the administrator comes back to it.
let ending = false;
onSessionEnded(() => {
  if (ending) return;
  ending = true;
  forgetSession();
  render({ focus: true }).finally(() => {
    ending = false;
    showStatus('Your session has ended. Sign in again to continue.', 'error');
  });
});

// ---------------------------------------------------------------------------------------
// Screens that live here: no access, not found, no tenant

function renderNoAccess(container, slug) {
  setTitle('No access');
  container.append(
    h(
      'section',
      { id: 'no-access', className: 'card notice-card', 'aria-labelledby': 'no-access-heading' },
      h('h1', { id: 'no-access-heading', tabindex: '-1' }, 'You do not administer this tenant'),
      h('p', {}, `Your administrator account has no role on the tenant “${slug}”. Ask one of its owners for an invitation, or choose one of your tenants.`),
      h('p', {}, h('a', { href: '/console' }, 'Go to your tenants')),
    ),
  );
}

function renderNotFound(container) {
  setTitle('Not found');
  container.append(
    h(
      'section',
      { className: 'card notice-card' },
      h('h1', { tabindex: '-1' }, 'Page not found'),
      h('p', {}, 'There is nothing at this address in the console.'),
      h('p', {}, h('a', { href: '/console' }, 'Go to the console')),
    ),
  );
}

function renderNoTenant(container) {
  setTitle('No tenant');
  container.append(
    h(
      'section',
      { className: 'card notice-card' },
      h('h1', { tabindex: '-1' }, 'No tenant yet'),
      h('p', {}, 'Your administrator account has no role on any tenant. Ask a tenant owner for an invitation.'),
    ),
  );
}

// ---------------------------------------------------------------------------------------
// Rendering a route

async function render({ keepStatus = false, focus = false } = {}) {
  const container = h('div', { className: 'view' });
  viewRoot.replaceChildren(container);
  if (!keepStatus) showStatus('');
  main.setAttribute('aria-busy', 'true');
  const { name, params } = match(location.pathname);
  const session = currentSession();

  const context = {
    session,
    navigate,
    setTitle,
  };

  try {
    if (name === 'enrol') {
      drawShell(session, {});
      setTitle('Enrol');
      await renderEnrol(container, {
        ...context,
        onEnrolled: (newSession, tenantSlug) => navigate(homePath(newSession, tenantSlug), { replace: true, keepStatus: true }),
      });
      return;
    }
    if (!session) {
      drawShell(null, {});
      setTitle('Sign in');
      renderSignIn(container, {
        onSignedIn: () => {
          if (match(location.pathname).name === 'home') navigate(homePath(currentSession()), { replace: true, keepStatus: true });
          else render({ keepStatus: true, focus: true });
        },
      });
      return;
    }
    if (name === 'home') {
      const path = homePath(session);
      if (path === '/console/t/') {
        drawShell(session, {});
        renderNoTenant(container);
      } else {
        history.replaceState(null, '', path);
        await render({ keepStatus, focus });
        focus = false;
      }
      return;
    }
    if (name === 'platform-explorer') {
      drawShell(session, { area: name });
      if (!session.platformRole) {
        renderNotFound(container);
        return;
      }
      setTitle('Platform explorer');
      await renderExplorer(container, { ...context, slug: null, role: session.platformRole, tenant: null });
      return;
    }
    if (name === 'platform-tenants' || name === 'platform-tenant') {
      drawShell(session, { area: name });
      if (!session.platformRole) {
        renderNotFound(container);
        return;
      }
      const screen = name === 'platform-tenants' ? renderPlatformTenants : renderPlatformTenant;
      await screen(container, { ...context, params, role: session.platformRole });
      return;
    }
    if (name === 'not-found' || !SCREENS[name]) {
      drawShell(session, {});
      renderNotFound(container);
      return;
    }
    const slug = params[0];
    drawShell(session, { slug, area: name });
    const role = roleOn(slug);
    if (!role) {
      renderNoAccess(container, slug);
      return;
    }
    rememberTenant(slug);
    const tenant = session.tenants.find((item) => item.slug === slug);
    await SCREENS[name](container, {
      ...context,
      slug,
      tenant,
      role,
      params: params.slice(1),
      setTitle: (...parts) => setTitle(...parts, tenant.name),
    });
  } catch (error) {
    showError(error);
  } finally {
    main.setAttribute('aria-busy', 'false');
    if (focus && container.isConnected) {
      const heading = container.querySelector('h1');
      if (heading) {
        heading.setAttribute('tabindex', '-1');
        heading.focus({ preventScroll: false });
      }
    }
  }
}

async function start() {
  try {
    await loadSession();
  } catch (error) {
    showError(error);
  }
  await render();
}

start();
