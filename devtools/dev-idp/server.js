// Development OpenID Provider for decidim-py.
//
// Stands in for a city's identity provider on a developer's machine and in the test suite.
// It is built on the certified `oidc-provider` package and offers a persona picker instead of
// passwords. It is NOT for real use: keys and sessions live in memory, personas are public.
//
// Configuration (environment variables) is documented in README.md next to this file.

import * as crypto from 'node:crypto';
import * as fs from 'node:fs';
import * as http from 'node:http';
import * as path from 'node:path';
import { fileURLToPath } from 'node:url';

import Provider, { errors, interactionPolicy } from 'oidc-provider';

const HERE = path.dirname(fileURLToPath(import.meta.url));
const BANNER = 'Development identity provider — not for real use';

const ACR_LOW = 'urn:decidim:dev:loa:low';
const ACR_SUBSTANTIAL = 'urn:decidim:dev:loa:substantial';
const ACR_HIGH = 'urn:decidim:dev:loa:high';
const ACR_VALUES = [ACR_LOW, ACR_SUBSTANTIAL, ACR_HIGH];

// Claims released per scope. `birthdate` and `national_id` have scopes of their own so that a
// relying party has to ask for them explicitly (data minimisation); `claims` requests work too.
const SCOPE_CLAIMS = {
  openid: ['sub'],
  profile: ['name', 'given_name', 'family_name', 'preferred_username'],
  address: ['address'],
  birthdate: ['birthdate'],
  national_id: ['national_id'],
};

function fail(message) {
  console.error(`dev-idp: ${message}`);
  process.exit(1);
}

// ---------------------------------------------------------------------------------------------
// Configuration
// ---------------------------------------------------------------------------------------------

function parsePort(raw) {
  const value = raw === undefined || raw === '' ? 5001 : Number(raw);
  if (!Number.isInteger(value) || value < 1 || value > 65535) {
    fail(`DEV_IDP_PORT must be a TCP port number, got ${JSON.stringify(raw)}`);
  }
  return value;
}

function parseIssuer(raw, port) {
  const issuer = raw && raw.trim() ? raw.trim() : `http://127.0.0.1:${port}`;
  let url;
  try {
    url = new URL(issuer);
  } catch {
    fail(`DEV_IDP_ISSUER is not a URL: ${JSON.stringify(issuer)}`);
  }
  if (!['http:', 'https:'].includes(url.protocol)) {
    fail(`DEV_IDP_ISSUER must be an http(s) URL, got ${JSON.stringify(issuer)}`);
  }
  if (url.search || url.hash || issuer.includes('?') || issuer.includes('#')) {
    fail('DEV_IDP_ISSUER must not have a query or fragment');
  }
  if (issuer.endsWith('/')) {
    fail('DEV_IDP_ISSUER must not end with a slash');
  }
  return issuer;
}

// A value that is either inline JSON or the path of a JSON file.
function readJsonSetting(name, value) {
  const text = value.trim();
  if (text.startsWith('[') || text.startsWith('{')) {
    try {
      return JSON.parse(text);
    } catch (err) {
      fail(`${name} looks like inline JSON but does not parse: ${err.message}`);
    }
  }
  return readJsonFile(name, path.resolve(text));
}

function readJsonFile(name, file) {
  let text;
  try {
    text = fs.readFileSync(file, 'utf8');
  } catch (err) {
    fail(`${name}: cannot read ${file}: ${err.message}`);
  }
  try {
    return JSON.parse(text);
  } catch (err) {
    fail(`${name}: ${file} is not valid JSON: ${err.message}`);
  }
  return undefined;
}

const DEFAULT_CLIENTS = [
  {
    client_id: 'decidim-dev',
    client_secret: 'decidim-dev-secret',
    client_name: 'decidim-py (development)',
    redirect_uris: [
      'http://127.0.0.1:5000/auth/dev/callback',
      'http://localhost:5000/auth/dev/callback',
    ],
    post_logout_redirect_uris: ['http://127.0.0.1:5000/', 'http://localhost:5000/'],
    backchannel_logout_uri: 'http://127.0.0.1:5000/auth/dev/backchannel-logout',
    backchannel_logout_session_required: true,
    token_endpoint_auth_method: 'client_secret_basic',
  },
];

function loadClients(raw) {
  let clients = raw && raw.trim() ? readJsonSetting('DEV_IDP_CLIENTS', raw) : DEFAULT_CLIENTS;
  if (clients && !Array.isArray(clients) && Array.isArray(clients.clients)) {
    clients = clients.clients;
  }
  if (clients && !Array.isArray(clients) && typeof clients === 'object') {
    clients = [clients];
  }
  if (!Array.isArray(clients) || clients.length === 0) {
    fail('DEV_IDP_CLIENTS must list at least one client');
  }
  const seen = new Set();
  return clients.map((client, index) => {
    if (!client || typeof client !== 'object') {
      fail(`DEV_IDP_CLIENTS[${index}] must be an object`);
    }
    for (const key of ['client_id', 'client_secret']) {
      if (typeof client[key] !== 'string' || !client[key]) {
        fail(`DEV_IDP_CLIENTS[${index}].${key} must be a non-empty string`);
      }
    }
    if (!Array.isArray(client.redirect_uris) || client.redirect_uris.length === 0) {
      fail(`DEV_IDP_CLIENTS[${index}].redirect_uris must be a non-empty array`);
    }
    if (seen.has(client.client_id)) {
      fail(`DEV_IDP_CLIENTS: duplicate client_id ${client.client_id}`);
    }
    seen.add(client.client_id);
    const metadata = {
      grant_types: ['authorization_code'],
      response_types: ['code'],
      token_endpoint_auth_method: 'client_secret_basic',
      post_logout_redirect_uris: [],
      // Always put auth_time and acr in the ID token, even when the relying party did not
      // send max_age / acr_values (standard client metadata; a client entry may override them).
      require_auth_time: true,
      default_acr_values: ACR_VALUES,
      ...client,
    };
    if (metadata.backchannel_logout_uri && metadata.backchannel_logout_session_required === undefined) {
      metadata.backchannel_logout_session_required = true;
    }
    return metadata;
  });
}

function loadPersonas(raw) {
  const file = raw && raw.trim() ? path.resolve(raw.trim()) : path.join(HERE, 'personas.json');
  const data = readJsonFile('DEV_IDP_PERSONAS', file);
  const list = Array.isArray(data) ? data : data?.personas;
  if (!Array.isArray(list) || list.length === 0) {
    fail(`DEV_IDP_PERSONAS: ${file} must contain a non-empty array of personas`);
  }
  const ids = new Set();
  const subs = new Set();
  for (const [index, persona] of list.entries()) {
    const where = `${file}[${index}]`;
    if (!persona || typeof persona !== 'object') fail(`${where} must be an object`);
    if (typeof persona.id !== 'string' || !/^[A-Za-z0-9._-]+$/.test(persona.id)) {
      fail(`${where}.id must be a simple identifier (letters, digits, . _ -)`);
    }
    if (typeof persona.sub !== 'string' || !persona.sub) fail(`${where}.sub must be a non-empty string`);
    if (!ACR_VALUES.includes(persona.acr)) fail(`${where}.acr must be one of ${ACR_VALUES.join(', ')}`);
    if (!persona.claims || typeof persona.claims !== 'object') fail(`${where}.claims must be an object`);
    if (typeof persona.claims.name !== 'string') fail(`${where}.claims.name must be a string`);
    if ('sub' in persona.claims) fail(`${where}.claims must not contain sub (use the persona's sub)`);
    if (ids.has(persona.id)) fail(`${where}: duplicate persona id ${persona.id}`);
    if (subs.has(persona.sub)) fail(`${where}: duplicate sub ${persona.sub}`);
    ids.add(persona.id);
    subs.add(persona.sub);
  }
  return list;
}

function generateJwks() {
  const jwk = (keyObject, alg) => {
    const key = keyObject.export({ format: 'jwk' });
    return { ...key, alg, use: 'sig', kid: `dev-${alg.toLowerCase()}-${crypto.randomBytes(6).toString('hex')}` };
  };
  const rsa = crypto.generateKeyPairSync('rsa', { modulusLength: 2048 }).privateKey;
  const ec = crypto.generateKeyPairSync('ec', { namedCurve: 'P-256' }).privateKey;
  // The first key is the RS256 one: ID tokens are signed RS256 unless a client asks otherwise.
  return { keys: [jwk(rsa, 'RS256'), jwk(ec, 'ES256')] };
}

function loadJwks(raw) {
  if (!raw || !raw.trim()) return { jwks: generateJwks(), source: 'generated at start (RS256 + ES256)' };
  const file = path.resolve(raw.trim());
  const jwks = readJsonFile('DEV_IDP_JWKS', file);
  if (!jwks || !Array.isArray(jwks.keys) || jwks.keys.length === 0) {
    fail(`DEV_IDP_JWKS: ${file} must be a JWKS ({"keys": [...]}) with private signing keys`);
  }
  if (!jwks.keys.some((key) => key.kty === 'RSA' && key.d)) {
    fail(`DEV_IDP_JWKS: ${file} must contain a private RSA key (ID tokens are signed RS256)`);
  }
  return { jwks, source: `loaded from ${file}` };
}

const port = parsePort(process.env.DEV_IDP_PORT);
const issuer = parseIssuer(process.env.DEV_IDP_ISSUER, port);
const issuerUrl = new URL(issuer);
const mountPath = issuerUrl.pathname === '/' ? '' : issuerUrl.pathname;
const clients = loadClients(process.env.DEV_IDP_CLIENTS);
const personas = loadPersonas(process.env.DEV_IDP_PERSONAS);
const { jwks, source: jwksSource } = loadJwks(process.env.DEV_IDP_JWKS);
const scopeClaimsInIdToken = ['1', 'true', 'yes'].includes(
  (process.env.DEV_IDP_SCOPE_CLAIMS_IN_ID_TOKEN || '').toLowerCase(),
);

const personaById = new Map(personas.map((p) => [p.id, p]));
const personaBySub = new Map(personas.map((p) => [p.sub, p]));

// ---------------------------------------------------------------------------------------------
// HTML
// ---------------------------------------------------------------------------------------------

function esc(value) {
  return String(value ?? '')
    .replaceAll('&', '&amp;')
    .replaceAll('<', '&lt;')
    .replaceAll('>', '&gt;')
    .replaceAll('"', '&quot;')
    .replaceAll("'", '&#39;');
}

const STYLE = `
  body { font-family: system-ui, sans-serif; margin: 0; color: #1a1a1a; background: #fafafa; line-height: 1.45; }
  .dev-banner p { margin: 0; }
  .dev-banner { padding: .75rem 1rem; background: #7a1f00; color: #fff; font-weight: 700; text-align: center; }
  main { max-width: 46rem; margin: 0 auto; padding: 1rem 1.25rem 3rem; }
  h1 { font-size: 1.6rem; }
  fieldset { border: 1px solid #888; border-radius: 6px; padding: .5rem 1rem 1rem; }
  legend { font-weight: 700; padding: 0 .3rem; }
  .persona { border-top: 1px solid #ddd; padding: .75rem 0; }
  .persona:first-of-type { border-top: 0; }
  .persona p { margin: .3rem 0 0; font-size: .95rem; }
  button { font: inherit; font-weight: 600; padding: .45rem .9rem; border-radius: 4px; border: 2px solid #12467a; background: #12467a; color: #fff; cursor: pointer; }
  button.secondary { background: #fff; color: #12467a; }
  button:focus-visible, a:focus-visible { outline: 3px solid #f5a300; outline-offset: 2px; }
  .error { border: 2px solid #a40000; background: #fff0f0; padding: .5rem 1rem; }
  table { border-collapse: collapse; width: 100%; font-size: .95rem; }
  th, td { text-align: left; border-bottom: 1px solid #ddd; padding: .35rem .4rem; vertical-align: top; }
  code { font-size: .9em; }
  .visually-hidden { position: absolute; width: 1px; height: 1px; overflow: hidden; clip: rect(0 0 0 0); white-space: nowrap; }
`;

function page(title, body) {
  return `<!DOCTYPE html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<meta name="robots" content="noindex">
<title>${esc(title)} · ${esc(BANNER)}</title>
<style>${STYLE}</style>
</head>
<body>
<header class="dev-banner"><p>${esc(BANNER)}</p></header>
<main>
${body}
</main>
</body>
</html>`;
}

function sendHtml(ctx, status, title, body) {
  ctx.status = status;
  ctx.type = 'html';
  ctx.set('Cache-Control', 'no-store');
  ctx.body = page(title, body);
}

function acrLabel(acr) {
  return acr.split(':').pop();
}

function personaSummary(persona) {
  const c = persona.claims;
  const parts = [
    `Assurance ${acrLabel(persona.acr)}`,
    c.address?.postal_code ? `postal code ${c.address.postal_code}` : null,
    c.birthdate ? `born ${c.birthdate}` : null,
    c.national_id ? `national id ${c.national_id}` : 'no national id',
  ].filter(Boolean);
  return parts.join(' · ');
}

function personaPicker({ uid, client, params, error }) {
  const action = `${mountPath}/interaction/${encodeURIComponent(uid)}`;
  const clientName = client?.clientName || params.client_id;
  const requested = [];
  if (params.scope) requested.push(`scopes <code>${esc(params.scope)}</code>`);
  if (params.acr_values) requested.push(`acr_values <code>${esc(params.acr_values)}</code>`);
  if (params.max_age !== undefined) requested.push(`max_age <code>${esc(params.max_age)}</code>`);
  if (params.claims) requested.push(`claims <code>${esc(params.claims)}</code>`);
  const items = personas.map((persona) => `
    <div class="persona">
      <button type="submit" name="persona" value="${esc(persona.id)}" aria-describedby="persona-${esc(persona.id)}-details persona-${esc(persona.id)}-facts">Sign in as ${esc(persona.claims.name)}</button>
      <p id="persona-${esc(persona.id)}-details">Persona <code>${esc(persona.id)}</code>. ${esc(persona.description || '')}</p>
      <p id="persona-${esc(persona.id)}-facts">${esc(personaSummary(persona))}</p>
    </div>`).join('');
  return page('Choose a persona', `
<h1>Sign in with a development persona</h1>
<p><strong>${esc(clientName)}</strong> asks you to sign in. Pick one of the fictional people below; there are no passwords.</p>
${requested.length ? `<p>Requested: ${requested.join('; ')}.</p>` : ''}
<p>Each persona always signs in at its own assurance level (acr), whatever was requested.</p>
${error ? `<p class="error" role="alert">${esc(error)}</p>` : ''}
<form method="post" action="${esc(action)}/login">
  <fieldset>
    <legend>Personas</legend>
    ${items}
  </fieldset>
</form>
<form method="post" action="${esc(action)}/abort">
  <p><button type="submit" class="secondary">Cancel and return to ${esc(clientName)}</button></p>
</form>`);
}

// ---------------------------------------------------------------------------------------------
// Provider
// ---------------------------------------------------------------------------------------------

const policy = interactionPolicy.base();
// An RP that marks acr as essential in the `claims` parameter would otherwise be sent back to
// the persona picker forever when the persona's level does not match. A persona has one fixed
// level: it is returned as is, and refusing it is the relying party's job.
policy.get('login').checks.remove('essential_acrs');
policy.get('login').checks.remove('essential_acr');

const configuration = {
  clients,
  jwks,
  acrValues: ACR_VALUES,
  claims: {
    ...SCOPE_CLAIMS,
    acr: null,
    auth_time: null,
    sid: null,
    iss: null,
  },
  scopes: ['openid'],
  responseTypes: ['code'],
  pkce: { required: () => true },
  conformIdTokenClaims: !scopeClaimsInIdToken,
  cookies: {
    keys: [crypto.randomBytes(32).toString('base64url')],
  },
  features: {
    devInteractions: { enabled: false },
    claimsParameter: { enabled: true },
    backchannelLogout: { enabled: true },
    userinfo: { enabled: true },
    rpInitiatedLogout: {
      enabled: true,
      async logoutSource(ctx, form) {
        // `form` is the provider's hidden form (id="op.logoutForm") carrying the xsrf token;
        // the buttons below submit it through their form attribute.
        const clientName = ctx.oidc.client?.clientName || ctx.oidc.client?.clientId;
        ctx.type = 'html';
        ctx.set('Cache-Control', 'no-store');
        ctx.body = page('Sign out', `
<h1>Sign out</h1>
<p>${clientName ? `<strong>${esc(clientName)}</strong> asks to sign you out.` : 'Do you want to sign out?'}
Signing out of the identity provider also notifies every application you signed in to with it.</p>
${form}
<p><button type="submit" form="op.logoutForm" name="logout" value="yes">Yes, sign out of the identity provider</button></p>
<p><button type="submit" form="op.logoutForm" class="secondary">No, stay signed in here${clientName ? ` (sign out of ${esc(clientName)} only)` : ''}</button></p>`);
      },
      async postLogoutSuccessSource(ctx) {
        ctx.type = 'html';
        ctx.set('Cache-Control', 'no-store');
        ctx.body = page('Signed out', `
<h1>You are signed out</h1>
<p><a href="${esc(mountPath)}/">Development identity provider home</a></p>`);
      },
    },
  },
  interactions: {
    policy,
    url(ctx, interaction) {
      return `${mountPath}/interaction/${interaction.uid}`;
    },
  },
  // Consent is granted automatically for every configured client: whatever scopes and claims
  // the request asks for are added to the grant, so the consent prompt never shows.
  async loadExistingGrant(ctx) {
    const { oidc } = ctx;
    const grantId = oidc.result?.consent?.grantId || oidc.session.grantIdFor(oidc.client.clientId);
    let grant = grantId ? await oidc.provider.Grant.find(grantId) : undefined;
    if (!grant || grant.accountId !== oidc.session.accountId) {
      grant = new oidc.provider.Grant({ accountId: oidc.session.accountId, clientId: oidc.client.clientId });
    }
    const scopes = [...oidc.requestParamOIDCScopes];
    if (scopes.length) grant.addOIDCScope(scopes.join(' '));
    const claims = [...oidc.requestParamClaims];
    if (claims.length) grant.addOIDCClaims(claims);
    await grant.save();
    return grant;
  },
  async findAccount(ctx, sub) {
    const persona = personaBySub.get(sub);
    if (!persona) return undefined;
    return {
      accountId: persona.sub,
      async claims() {
        // The provider filters these by the granted scopes and requested claims.
        return { ...structuredClone(persona.claims), sub: persona.sub };
      },
    };
  },
  async renderError(ctx, out) {
    ctx.type = 'html';
    ctx.set('Cache-Control', 'no-store');
    const rows = Object.entries(out)
      .map(([key, value]) => `<tr><th scope="row">${esc(key)}</th><td>${esc(value)}</td></tr>`)
      .join('');
    ctx.body = page('Error', `
<h1>Something went wrong</h1>
<table><caption class="visually-hidden">Error details</caption>${rows}</table>`);
  },
  clientBasedCORS: () => false,
  // Back-channel logout notifications go to the relying party on the loopback interface.
  // oidc-provider refuses outgoing requests to loopback / private addresses (SSRF protection);
  // drop that guard for this development provider, which talks to local apps only.
  fetch(url, options) {
    const { dispatcher, ...rest } = options;
    return globalThis.fetch(url, rest);
  },
  ttl: {
    AccessToken: 60 * 60,
    AuthorizationCode: 60,
    IdToken: 60 * 60,
    Interaction: 60 * 60,
    Session: 8 * 60 * 60,
    Grant: 8 * 60 * 60,
    ClientCredentials: 10 * 60,
    RefreshToken: 24 * 60 * 60,
  },
};

let provider;
try {
  provider = new Provider(issuer, configuration);
} catch (err) {
  fail(`invalid provider configuration: ${err.message}`);
}

// Static clients are only validated when first used; check them now so that a bad
// DEV_IDP_CLIENTS entry fails at start instead of in the middle of a test.
for (const { client_id: clientId } of clients) {
  try {
    if (!(await provider.Client.find(clientId))) fail(`client ${clientId} could not be loaded`);
  } catch (err) {
    fail(`DEV_IDP_CLIENTS: client ${clientId} is invalid: ${err.error_description || err.message}`);
  }
}

provider.on('server_error', (ctx, err) => {
  console.error(`dev-idp: server error on ${ctx.method} ${ctx.path}:`, err);
});
provider.on('backchannel.success', (ctx, client, accountId, sid) => {
  console.log(`dev-idp: back-channel logout delivered to ${client.backchannelLogoutUri} (client ${client.clientId}, sub ${accountId}, sid ${sid})`);
});
provider.on('backchannel.error', (ctx, err, client, accountId, sid) => {
  console.log(`dev-idp: back-channel logout to ${client.backchannelLogoutUri} FAILED (client ${client.clientId}, sub ${accountId}, sid ${sid}): ${err.message}${err.cause ? ` (${err.cause.code || err.cause.message})` : ''}`);
});
provider.on('end_session.success', () => {
  console.log('dev-idp: end-session completed');
});

// ---------------------------------------------------------------------------------------------
// Persona picker (interaction) routes and a small home page
// ---------------------------------------------------------------------------------------------

async function readForm(ctx) {
  const type = ctx.get('content-type') || '';
  if (!type.startsWith('application/x-www-form-urlencoded')) return new URLSearchParams();
  const chunks = [];
  let size = 0;
  for await (const chunk of ctx.req) {
    size += chunk.length;
    if (size > 64 * 1024) ctx.throw(413, 'form too large');
    chunks.push(chunk);
  }
  return new URLSearchParams(Buffer.concat(chunks).toString('utf8'));
}

function expiredInteraction(ctx) {
  sendHtml(ctx, 400, 'Sign-in expired', `
<h1>This sign-in attempt is no longer valid</h1>
<p>The sign-in attempt has expired, was already completed, or your browser did not send the
identity provider's cookie. Go back to the application and start signing in again.</p>
<p>Use the same host name as the issuer, <code>${esc(issuer)}</code>: cookies set for
<code>127.0.0.1</code> are not sent to <code>localhost</code> and vice versa.</p>`);
}

function homePage() {
  const personaRows = personas.map((p) => `<tr><td><code>${esc(p.id)}</code></td><td>${esc(p.claims.name)}</td><td><code>${esc(p.sub)}</code></td><td>${esc(acrLabel(p.acr))}</td><td>${esc(p.claims.address?.postal_code)}</td><td>${esc(p.claims.birthdate)}</td><td>${esc(p.claims.national_id ?? '—')}</td></tr>`).join('');
  const clientRows = clients.map((c) => `<tr><td><code>${esc(c.client_id)}</code></td><td>${c.redirect_uris.map((u) => `<code>${esc(u)}</code>`).join('<br>')}</td><td>${c.backchannel_logout_uri ? `<code>${esc(c.backchannel_logout_uri)}</code>` : '—'}</td></tr>`).join('');
  return page('Home', `
<h1>Development identity provider</h1>
<p>Issuer <code>${esc(issuer)}</code> · <a href="${esc(mountPath)}/.well-known/openid-configuration">discovery document</a> · <a href="${esc(mountPath)}/session/end">sign out of the identity provider</a></p>
<h2>Personas</h2>
<table>
<thead><tr><th scope="col">id</th><th scope="col">name</th><th scope="col">sub</th><th scope="col">acr</th><th scope="col">postal code</th><th scope="col">birthdate</th><th scope="col">national id</th></tr></thead>
<tbody>${personaRows}</tbody>
</table>
<h2>Clients</h2>
<table>
<thead><tr><th scope="col">client_id</th><th scope="col">redirect URIs</th><th scope="col">back-channel logout URI</th></tr></thead>
<tbody>${clientRows}</tbody>
</table>`);
}

const INTERACTION_PATH = /^\/interaction\/([A-Za-z0-9_-]+)(?:\/(login|abort))?\/?$/;

provider.use(async (ctx, next) => {
  if (ctx.path === '/' && ['GET', 'HEAD'].includes(ctx.method)) {
    ctx.type = 'html';
    ctx.body = homePage();
    return;
  }
  const match = INTERACTION_PATH.exec(ctx.path);
  if (!match) {
    await next();
    return;
  }
  const [, uid, action] = match;
  const method = action ? 'POST' : 'GET';
  if (ctx.method !== method && !(method === 'GET' && ctx.method === 'HEAD')) {
    ctx.status = 405;
    ctx.set('Allow', method);
    return;
  }

  let details;
  try {
    details = await provider.interactionDetails(ctx.req, ctx.res);
  } catch (err) {
    if (err instanceof errors.SessionNotFound) {
      expiredInteraction(ctx);
      return;
    }
    throw err;
  }
  if (details.uid !== uid) {
    expiredInteraction(ctx);
    return;
  }
  const { prompt, params } = details;
  const client = await provider.Client.find(params.client_id);

  const finish = async (result) => {
    const returnTo = await provider.interactionResult(ctx.req, ctx.res, result, {
      mergeWithLastSubmission: false,
    });
    ctx.status = 303;
    ctx.set('Cache-Control', 'no-store');
    ctx.redirect(returnTo);
  };

  if (action === 'abort') {
    await finish({ error: 'access_denied', error_description: 'End-User cancelled the sign-in' });
    return;
  }

  if (prompt.name === 'consent') {
    // Only reached when the RP explicitly sent prompt=consent: grant it without a screen.
    const grant = details.grantId
      ? await provider.Grant.find(details.grantId)
      : new provider.Grant({ accountId: details.session.accountId, clientId: params.client_id });
    const { missingOIDCScope, missingOIDCClaims, missingResourceScopes } = prompt.details;
    if (missingOIDCScope) grant.addOIDCScope(missingOIDCScope.join(' '));
    if (missingOIDCClaims) grant.addOIDCClaims(missingOIDCClaims);
    for (const [indicator, scopes] of Object.entries(missingResourceScopes || {})) {
      grant.addResourceScope(indicator, scopes.join(' '));
    }
    const grantId = await grant.save();
    await finish({ consent: { grantId } });
    return;
  }

  if (prompt.name !== 'login') {
    sendHtml(ctx, 400, 'Unsupported prompt', `<h1>Unsupported prompt</h1><p>The prompt <code>${esc(prompt.name)}</code> is not supported by this development provider.</p>`);
    return;
  }

  if (!action) {
    ctx.type = 'html';
    ctx.set('Cache-Control', 'no-store');
    ctx.body = personaPicker({ uid, client, params });
    return;
  }

  const form = await readForm(ctx);
  const persona = personaById.get(form.get('persona') || '') || personaBySub.get(form.get('persona') || '');
  if (!persona) {
    ctx.status = 400;
    ctx.type = 'html';
    ctx.set('Cache-Control', 'no-store');
    ctx.body = personaPicker({ uid, client, params, error: 'Choose one of the personas listed below.' });
    return;
  }
  console.log(`dev-idp: signed in as ${persona.id} (sub ${persona.sub}, acr ${persona.acr}) for client ${params.client_id}`);
  await finish({ login: { accountId: persona.sub, acr: persona.acr, remember: true } });
});

// ---------------------------------------------------------------------------------------------
// HTTP server
// ---------------------------------------------------------------------------------------------

const handler = provider.callback();

const server = http.createServer((req, res) => {
  if (mountPath) {
    // The issuer has a path: serve everything below it, as if mounted there.
    const url = req.url || '/';
    if (url === mountPath || url.startsWith(`${mountPath}/`) || url.startsWith(`${mountPath}?`)) {
      // oidc-provider derives the mount path from originalUrl (as Express sets it when mounting).
      req.originalUrl = url;
      req.url = url.slice(mountPath.length) || '/';
      if (req.url.startsWith('?')) req.url = `/${req.url}`;
    } else {
      res.statusCode = 404;
      res.setHeader('Content-Type', 'text/plain; charset=utf-8');
      res.end(`Not found. The issuer is ${issuer}\n`);
      return;
    }
  }
  handler(req, res);
});

server.on('error', (err) => {
  if (err.code === 'EADDRINUSE') {
    fail(`port ${port} on 127.0.0.1 is already in use (set DEV_IDP_PORT to use another one)`);
  }
  fail(`cannot listen on 127.0.0.1:${port}: ${err.message}`);
});

server.listen(port, '127.0.0.1', () => {
  console.log(`dev-idp listening on ${issuer}`);
  console.log(`  ${BANNER}`);
  console.log(`  bound to 127.0.0.1:${port}; signing keys ${jwksSource}`);
  console.log(`  clients: ${clients.map((c) => c.client_id).join(', ')}`);
  console.log('  personas:');
  const width = Math.max(...personas.map((p) => p.id.length));
  for (const p of personas) {
    console.log(`    ${p.id.padEnd(width)}  sub=${p.sub}  acr=${p.acr}  ${p.claims.name}`);
  }
});

let stopping = false;
function stop(signal) {
  if (stopping) return;
  stopping = true;
  console.log(`dev-idp: ${signal} received, stopping`);
  server.close(() => process.exit(0));
  server.closeAllConnections?.();
  setTimeout(() => process.exit(0), 2000).unref();
}
process.on('SIGINT', () => stop('SIGINT'));
process.on('SIGTERM', () => stop('SIGTERM'));
