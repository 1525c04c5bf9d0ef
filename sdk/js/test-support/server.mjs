// The real `latchkey` server for the JavaScript tests: started on a fresh data directory and
// a free port with the embedded defaults (SQLite, in-process store, `demo` tenant). The SDK's
// tests (test/) and the hosted pages' browser test (tests/browser/passkeys.test.mjs) both
// start it from here, so this module uses Node.js built-ins only: each package's `npm ci`
// is enough. Kept outside test/ because `node --test test/` runs every module in that
// folder as a test file.

import { spawn } from 'node:child_process';
import { existsSync } from 'node:fs';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { Mailbox } from './mailbox.mjs';

const here = path.dirname(fileURLToPath(import.meta.url));

/** `LATCHKEY_BIN`, or the debug build of this checkout (`target/debug/latchkey`). */
export const LATCHKEY_BIN = process.env.LATCHKEY_BIN
  ? path.resolve(process.env.LATCHKEY_BIN)
  : path.resolve(here, '../../../target/debug/latchkey');

/**
 * Starts `latchkey serve` and resolves once it has printed its banner, with `url` (the public
 * URL, `http://localhost:PORT`: the origin WebAuthn accepts, since browsers allow it over
 * plain HTTP only on localhost), `apiUrl` (the same server at `http://127.0.0.1:PORT`, for
 * calls from Node.js, which need not resolve localhost), the platform token, the demo
 * tenant's owner API key, `consoleLink` (the first owner's one-time enrolment link into the
 * admin console, on `url`; null when the banner has none), `mailbox` (its outgoing mail, see
 * mailbox.mjs), `stderr()` and
 * `stop()`. `env` adds settings of the test's own (such as
 * `LATCHKEY_CRM_ALLOW_PRIVATE_NETWORKS` for a webhook receiver on loopback).
 */
export async function startServer({ env: settings = {} } = {}) {
  if (!existsSync(LATCHKEY_BIN)) {
    throw new Error(`no server binary at ${LATCHKEY_BIN}: run \`cargo build\` first or set LATCHKEY_BIN`);
  }
  const dataDir = await mkdtemp(path.join(tmpdir(), 'latchkey-test-'));
  // The embedded default: no LATCHKEY_* setting of the calling shell may point this server
  // elsewhere.
  const env = Object.fromEntries(Object.entries(process.env).filter(([name]) => !name.startsWith('LATCHKEY_')));
  Object.assign(env, { LATCHKEY_DATA_DIR: dataDir, LATCHKEY_BIND: '127.0.0.1:0', RUST_LOG: 'warn' }, settings);
  const child = spawn(LATCHKEY_BIN, ['serve'], { cwd: dataDir, env, stdio: ['ignore', 'pipe', 'pipe'] });

  let stderr = '';
  child.stderr.setEncoding('utf8');
  child.stderr.on('data', (chunk) => {
    stderr = (stderr + chunk).slice(-20_000);
  });

  const banner = await new Promise((resolve, reject) => {
    let stdout = '';
    const timer = setTimeout(() => fail(new Error('the server printed no banner within 60 s')), 60_000);
    function fail(error) {
      clearTimeout(timer);
      child.kill('SIGKILL');
      rm(dataDir, { recursive: true, force: true }).finally(() =>
        reject(new Error(`${error.message}\nstdout:\n${stdout}\nstderr:\n${stderr}`)),
      );
    }
    child.once('error', fail);
    child.once('exit', (code, signal) => fail(new Error(`the server exited early (${signal ?? code})`)));
    child.stdout.setEncoding('utf8');
    child.stdout.on('data', (chunk) => {
      stdout += chunk;
      if (!stdout.includes('Authorization: Bearer')) return;
      clearTimeout(timer);
      child.removeAllListeners('exit');
      child.removeAllListeners('error');
      const port = /Latchkey is listening on \S+:(\d+)/.exec(stdout)?.[1];
      const platformToken = /Platform token[^:]*:\s+(lkp_\S+)/.exec(stdout)?.[1];
      const apiKey = /Demo tenant owner API key[^:]*:\s+(lk_\S+)/.exec(stdout)?.[1];
      if (!port || !platformToken || !apiKey) {
        return fail(new Error('the banner lacks the address, the platform token or the demo API key'));
      }
      // The first owner's one-time console enrolment link (printed by a server with the admin
      // console): only its token is kept, the link is rebuilt on `url` below.
      const consoleToken = /\/console\/enrol#token=(lke_[A-Za-z0-9_-]+)/.exec(stdout)?.[1] ?? null;
      resolve({ port, platformToken, apiKey, consoleToken });
    });
  });

  async function stop() {
    if (child.exitCode === null && child.signalCode === null) {
      const exited = new Promise((resolve) => child.once('exit', resolve));
      child.kill('SIGTERM');
      const timer = setTimeout(() => child.kill('SIGKILL'), 5_000);
      await exited;
      clearTimeout(timer);
    }
    await rm(dataDir, { recursive: true, force: true });
  }

  return {
    url: `http://localhost:${banner.port}`,
    apiUrl: `http://127.0.0.1:${banner.port}`,
    platformToken: banner.platformToken,
    apiKey: banner.apiKey,
    consoleLink: banner.consoleToken ? `http://localhost:${banner.port}/console/enrol#token=${banner.consoleToken}` : null,
    mailbox: new Mailbox(path.join(dataDir, 'mailbox.txt')),
    stderr: () => stderr,
    stop,
  };
}

/** One GraphQL POST without the SDK; answers the HTTP status and the parsed body. */
export async function postGraphql(endpoint, query, variables = {}, bearer) {
  const headers = { 'content-type': 'application/json' };
  if (bearer) headers.authorization = `Bearer ${bearer}`;
  const response = await fetch(endpoint, { method: 'POST', headers, body: JSON.stringify({ query, variables }) });
  return { status: response.status, body: await response.json() };
}
