// Load time of the admin console's overview (/console/t/demo/overview) in a real browser:
// Debian's Chromium driven by playwright-core, against the real `latchkey` server on a fresh
// data directory (sdk/js/test-support/server.mjs; LATCHKEY_BIN selects the binary). The
// first owner enrols from the start-up link with a CDP virtual authenticator, then each
// load opens a fresh page in the same browser context (the session cookie and the HTTP
// cache are kept): LOADS of them (default 20) with the cache on, 5 with it off (CDP
// Network.setCacheDisabled). See README.md beside this file.

import { chromium } from 'playwright-core';
import { startServer } from '../../sdk/js/test-support/server.mjs';

const CHROMIUM = '/usr/bin/chromium';
const LOADS = Number(process.env.LOADS ?? 20);
const UNCACHED_LOADS = 5;
/** Drawn by web/console/overview.js once `tenantActivity` has answered. */
const RENDERED = '#sign-in-table';

/** Nearest-rank percentile `p` (0..100) of `values`, in ms rounded to 0.1. */
function percentile(values, p) {
  const sorted = [...values].sort((a, b) => a - b);
  const value = sorted[Math.max(0, Math.ceil((p / 100) * sorted.length) - 1)];
  return value.toFixed(1);
}

/** Enrols the first owner from the banner's one-time link; the context then holds its session. */
async function enrolOwner(context, consoleLink) {
  const page = await context.newPage();
  // A platform authenticator for the passkey the enrolment creates (as tests/browser/support.mjs).
  const cdp = await context.newCDPSession(page);
  await cdp.send('WebAuthn.enable');
  await cdp.send('WebAuthn.addVirtualAuthenticator', {
    options: {
      protocol: 'ctap2',
      transport: 'internal',
      hasResidentKey: true,
      hasUserVerification: true,
      isUserVerified: true,
      automaticPresenceSimulation: true,
    },
  });
  await page.goto(consoleLink);
  await page.locator('#enrol-form').waitFor();
  await page.fill('#enrol-email', 'owner@bench.example');
  await page.fill('#enrol-name', 'Bench Owner');
  await page.click('#enrol-button');
  await page.waitForURL((url) => url.pathname.startsWith('/console/t/demo/'));
  await page.locator('main[aria-busy="false"]').waitFor();
  await page.close();
}

/**
 * One load in a fresh page: ms from `page.goto` until the activity table is in the page
 * (measured here), and the navigation entry's DOMContentLoaded and load event ends (measured
 * by the browser from the navigation's start). With `cache: false` the page's HTTP cache is
 * off and its requests are counted from the CDP Network events.
 */
async function load(context, target, { cache }) {
  const page = await context.newPage();
  const cdp = await context.newCDPSession(page);
  const traffic = { requests: 0, bytes: 0, types: {} };
  await cdp.send('Network.enable');
  await cdp.send('Network.setCacheDisabled', { cacheDisabled: !cache });
  cdp.on('Network.requestWillBeSent', ({ type }) => {
    traffic.requests++;
    traffic.types[type] = (traffic.types[type] ?? 0) + 1;
  });
  // encodedDataLength: bytes received for the response, headers included.
  cdp.on('Network.loadingFinished', (event) => (traffic.bytes += event.encodedDataLength));

  const start = performance.now();
  await page.goto(target, { waitUntil: 'commit' });
  await page.locator(RENDERED).waitFor();
  const rendered = performance.now() - start;
  await page.waitForLoadState('load');
  const nav = await page.evaluate(() => {
    const [entry] = performance.getEntriesByType('navigation');
    return { dcl: entry.domContentLoadedEventEnd, load: entry.loadEventEnd };
  });
  await page.waitForLoadState('networkidle'); // so the counts include late requests
  await page.close();
  return { rendered, dcl: nav.dcl, load: nav.load, ...traffic };
}

/** Runs `count` loads one after another. */
async function series(context, target, count, options) {
  const results = [];
  for (let i = 0; i < count; i++) results.push(await load(context, target, options));
  return results;
}

const server = await startServer();
let browser;
try {
  if (!server.consoleLink) throw new Error('the server printed no console enrolment link');
  browser = await chromium.launch({
    executablePath: CHROMIUM,
    args: ['--headless', '--no-sandbox', '--disable-gpu', '--disable-background-networking'],
  });
  const context = await browser.newContext({ viewport: { width: 1100, height: 900 } });
  context.setDefaultTimeout(30_000);
  await enrolOwner(context, server.consoleLink);

  const target = `${server.url}/console/t/demo/overview`;
  await load(context, target, { cache: true }); // warm-up, not counted
  const cached = await series(context, target, LOADS, { cache: true });
  const uncached = await series(context, target, UNCACHED_LOADS, { cache: false });

  // The table: median and p95 of each figure, cached and uncached.
  const rows = [
    ['overview rendered', 'rendered'],
    ['DOMContentLoaded', 'dcl'],
    ['load event', 'load'],
  ];
  const cell = (results, key, p) => percentile(results.map((r) => r[key]), p).padStart(9);
  console.log(`server: ${process.env.LATCHKEY_BIN ?? 'target/debug/latchkey (default)'}`);
  console.log(`${'(ms)'.padEnd(20)}${`cached, n=${LOADS}`.padStart(20)}${`uncached, n=${UNCACHED_LOADS}`.padStart(20)}`);
  console.log(`${''.padEnd(20)}${'median'.padStart(10)}${'p95'.padStart(10)}${'median'.padStart(10)}${'p95'.padStart(10)}`);
  for (const [label, key] of rows) {
    console.log(`${label.padEnd(20)} ${cell(cached, key, 50)} ${cell(cached, key, 95)} ${cell(uncached, key, 50)} ${cell(uncached, key, 95)}`);
  }
  // Traffic of the first load of each series (a cached load shows what the cache saves).
  const traffic = ({ requests, bytes, types }) =>
    `${requests} requests (${Object.entries(types).map(([type, n]) => `${n} ${type}`).join(', ')}), ${(bytes / 1024).toFixed(1)} KiB transferred`;
  console.log(`one uncached load: ${traffic(uncached[0])}`);
  console.log(`one cached load:   ${traffic(cached[0])}`);
} catch (error) {
  console.error(error);
  console.error(`server stderr (last part):\n${server.stderr()}`);
  process.exitCode = 1;
} finally {
  await browser?.close();
  await server.stop();
}
