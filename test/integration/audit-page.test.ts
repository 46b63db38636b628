/**
 * The auditors' page, served by the local HTTP host through the registered handlers, driven in headless Chromium
 * (Debian's `chromium`, through playwright-core): filters, paging, CSV link, colours, timelines — and no XSS from
 * hostile names. Skipped, saying so, only when /usr/bin/chromium is missing (CI installs it).
 */
import { existsSync } from 'node:fs';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parse } from 'csv-parse/sync';
import { chromium, type BrowserContext, type Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { useAuditServices } from '../../src/app/services.js';
import { matchesQuery, parseAuditQuery } from '../../src/core/audit-query.js';
import { vaultKey } from '../../src/adapters/storage/keys.js';
import { startHttpHost, type HttpHost } from '../../src/local/http-host.js';
import { AUDIT_HTTP_FUNCTIONS, AUDIT_PAGE_PATH } from '../../src/local/http-functions.js';
import { corpus, HOSTILE_NAMES, NOW, startAuditEnv, writeAll, type AuditEnv } from '../support/audit.js';

const CHROMIUM = '/usr/bin/chromium';

/** The little of the browser's globals the test reads (the project's TypeScript lib has no DOM). */
interface BrowserGlobals {
  document: { getElementById(id: string): { textContent: string | null } | null };
  __xss?: unknown;
}
const hasChromium = existsSync(CHROMIUM);
// On a developer machine without Chromium the test is skipped with a message; in CI (.ci/run installs it) it must run.
if (!hasChromium && process.env['CI']) throw new Error(`CI: the audit page browser test needs Debian's chromium at ${CHROMIUM} (.ci/run installs it).`);
if (!hasChromium) console.warn(`SKIPPED: the audit page browser test needs Debian's chromium at ${CHROMIUM} (apt-get install chromium).`);

let env: AuditEnv;
let host: HttpHost;
const records = corpus();
const expectedCount = (qs: string): number => {
  const q = parseAuditQuery(new URLSearchParams(qs), NOW);
  return records.filter((r) => matchesQuery(r, q, vaultKey)).length;
};

beforeAll(async () => {
  env = await startAuditEnv();
  await writeAll(env.log, records);
  useAuditServices({ clock: { now: () => NOW }, reader: env.reader });
  host = await startHttpHost({ routes: AUDIT_HTTP_FUNCTIONS });
});
afterAll(async () => {
  await host?.stop();
  await env?.stop();
});

describe('local HTTP host', () => {
  it('serves the audit API through the registered handlers', async () => {
    const res = await fetch(`${host.url}/api/audit?vault=hpc-prod-kv&outcome=Failed&code=ignored-locally`);
    expect(res.status).toBe(200);
    expect(res.headers.get('content-type')).toMatch(/^application\/json/);
    const body = (await res.json()) as { rows: { vault: string; outcome: string }[] };
    expect(body.rows.length).toBe(expectedCount('vault=hpc-prod-kv&outcome=Failed'));
    expect(new Set(body.rows.map((r) => `${r.vault} ${r.outcome}`))).toEqual(new Set(['hpc-prod-kv Failed']));
  });

  it('decodes route parameters, answers 400/404/405 like the host', async () => {
    const timeline = await fetch(`${host.url}/api/audit/objects/hpc-prod-kv/certificate/${encodeURIComponent(HOSTILE_NAMES.unicode)}`);
    expect(((await timeline.json()) as { other: { objectName: string }[] }).other.map((r) => r.objectName)).toEqual([HOSTILE_NAMES.unicode]);
    const bad = await fetch(`${host.url}/api/audit?pageSize=0`);
    expect(bad.status).toBe(400);
    expect(((await bad.json()) as { error: { parameter: string } }).error.parameter).toBe('pageSize');
    expect((await fetch(`${host.url}/api/nothing-here`)).status).toBe(404);
    expect((await fetch(`${host.url}/api/audit`, { method: 'POST', body: 'x' })).status).toBe(405);
    expect((await fetch(`${host.url}/api/AUDIT/VERIFY`)).status).toBe(200); // routes are case-insensitive
  });

  it('serves a self-contained page with a strict content security policy', async () => {
    const res = await fetch(`${host.url}${AUDIT_PAGE_PATH}`);
    expect(res.status).toBe(200);
    expect(res.headers.get('content-type')).toBe('text/html; charset=utf-8');
    const csp = res.headers.get('content-security-policy') ?? '';
    expect(csp).toMatch(/default-src 'none'; script-src 'nonce-[A-Za-z0-9+/=]+'; style-src 'nonce-/);
    const html = await res.text();
    expect(html).not.toMatch(/(?:src|href)\s*=\s*["']?(?:https?:)?\/\//i); // nothing external
    expect(html).not.toMatch(/innerHTML|outerHTML|insertAdjacentHTML|document\.write|eval\(/);
  });
});

describe.skipIf(!hasChromium)('audit page in headless Chromium', () => {
  let context: BrowserContext;
  let page: Page;
  let profile: string;
  const problems: string[] = [];

  beforeAll(async () => {
    profile = await mkdtemp(join(tmpdir(), 'rotor-chromium-'));
    context = await chromium.launchPersistentContext(profile, {
      executablePath: CHROMIUM,
      headless: true,
      args: [
        '--headless',
        '--no-sandbox',
        '--disable-gpu',
        '--disable-quic',
        '--no-first-run',
        '--disable-background-networking',
        '--disable-component-update',
        '--disable-sync',
      ],
    });
    page = context.pages()[0] ?? (await context.newPage());
    page.on('pageerror', (err) => problems.push(`pageerror: ${err.message}`));
    page.on('console', (msg) => {
      if (msg.type() === 'error') problems.push(`console: ${msg.text()}`);
    });
  });
  afterAll(async () => {
    await context?.close();
    if (profile) await rm(profile, { recursive: true, force: true });
  });

  const rows = () => page.locator('#rows-body tr.row');
  async function applyFilters(values: Record<string, string>): Promise<void> {
    await page.locator('#reset').click();
    for (const [name, value] of Object.entries(values)) {
      const field = page.locator(`#f-${name}`);
      if ((await field.evaluate((el: { tagName: string }) => el.tagName)) === 'SELECT') await field.selectOption(value);
      else await field.fill(value);
    }
    await page.locator('#apply').click();
    // (A function, not a string: the page's CSP forbids evaluating strings.)
    await page.waitForFunction(() => !(globalThis as unknown as BrowserGlobals).document.getElementById('status')?.textContent?.startsWith('Loading'));
  }

  it('lists the newest rows first and pages through them', async () => {
    await page.goto(`${host.url}${AUDIT_PAGE_PATH}?code=local-key`);
    await expect.poll(() => rows().count()).toBe(100);
    const times = await page.locator('#rows-body td.c-time').allTextContents();
    expect([...times].sort().reverse()).toEqual(times);
    await applyFilters({ vault: 'hpc-dev-kv', pageSize: '25' });
    const total = expectedCount('vault=hpc-dev-kv');
    await expect.poll(() => rows().count()).toBe(25);
    const first = await page.locator('#rows-body td.c-time').first().textContent();
    await page.locator('#next').click();
    await expect.poll(() => page.locator('#page').textContent()).toBe('Page 2');
    await expect.poll(() => page.locator('#rows-body td.c-time').first().textContent()).not.toBe(first);
    expect(await page.locator('#status').textContent()).toContain('Rows 26–50');
    await page.locator('#prev').click();
    await expect.poll(() => page.locator('#rows-body td.c-time').first().textContent()).toBe(first);
    expect(total).toBeGreaterThan(50);
  });

  it('filters, colours failures, and offers the CSV of the same rows', async () => {
    await applyFilters({ vault: 'hpc-prod-kv', outcome: 'Failed' });
    const n = expectedCount('vault=hpc-prod-kv&outcome=Failed');
    await expect.poll(() => rows().count()).toBe(n);
    expect(n).toBeGreaterThan(0);
    expect(await page.locator('#rows-body tr.row.failed').count()).toBe(n);
    expect(new Set(await page.locator('#rows-body td.c-vault').allTextContents())).toEqual(new Set(['hpc-prod-kv']));
    const href = (await page.locator('#csv').getAttribute('href')) ?? '';
    const csvUrl = new URL(href, host.url);
    expect(Object.fromEntries(csvUrl.searchParams)).toMatchObject({ vault: 'hpc-prod-kv', outcome: 'Failed', format: 'csv', code: 'local-key' });
    const csv = await (await fetch(csvUrl)).text();
    expect(parse(csv, { columns: true })).toHaveLength(n);
  });

  it('colours stale consumers', async () => {
    await applyFilters({ action: 'ConsumerStale' });
    const n = expectedCount('action=ConsumerStale');
    await expect.poll(() => rows().count()).toBe(n);
    expect(await page.locator('#rows-body tr.row.stale').count()).toBe(n);
  });

  it('shows a bad filter as the API words it', async () => {
    await applyFilters({ from: 'last tuesday' });
    await expect.poll(() => page.locator('#status').textContent()).toContain('from:');
    expect(await page.locator('#status').getAttribute('class')).toBe('error');
    expect(await rows().count()).toBe(0);
  });

  it("opens an object's timeline from its row: rotations, versions, consumers", async () => {
    await applyFilters({ vault: 'hpc-prod-kv', objectType: 'certificate', action: 'RotationCompleted' });
    await rows().first().locator('a.object-link').click();
    await expect.poll(() => page.locator('#timeline').getAttribute('class')).toBe('open');
    await expect.poll(() => page.locator('#timeline-title').textContent()).toBe('hpc-prod-kv / certificate / hpc-node-comm');
    const api = (await (await fetch(`${host.url}/api/audit/objects/hpc-prod-kv/certificate/hpc-node-comm`)).json()) as {
      rotations: { status: string; toVersion: string; consumers: { state: string }[] }[];
    };
    await expect.poll(() => page.locator('.rotation').count()).toBe(api.rotations.length);
    const newest = page.locator('.rotation').first();
    expect(await newest.locator('.badge.status').textContent()).toBe(api.rotations[0]!.status);
    const text = await page.locator('#timeline-body').textContent();
    for (const r of api.rotations.filter((x) => x.toVersion)) expect(text).toContain(r.toVersion);
    const stale = api.rotations.flatMap((r) => r.consumers).filter((c) => c.state === 'Stale').length;
    expect(await page.locator('tr.consumer.stale').count()).toBe(stale);
    expect(await page.locator('tr.consumer.verified').count()).toBe(api.rotations.flatMap((r) => r.consumers).filter((c) => c.state === 'Verified').length);
    await page.locator('#back').click();
    await expect.poll(() => page.locator('#list').getAttribute('class')).toBe('');
  });

  it('shows hostile names as text: no markup, no script runs', async () => {
    await applyFilters({ vault: 'hpc-dev-kv', outcome: 'ActionRequired', from: '2026-11-15', to: '2026-11-15' });
    const link = page.locator('#rows-body a.object-link', { hasText: HOSTILE_NAMES.xss });
    await expect.poll(() => link.count()).toBe(1);
    expect(await link.textContent()).toBe(`secret/${HOSTILE_NAMES.xss}`);
    expect(await page.locator('#rows-body img, #rows-body script').count()).toBe(0);
    expect(await page.locator('#rows-body td.c-detail', { hasText: '<script>window.__xss=2</script>' }).count()).toBe(1);
    await link.click();
    await expect.poll(() => page.locator('#timeline-title').textContent()).toBe(`hpc-dev-kv / secret / ${HOSTILE_NAMES.xss}`);
    await expect.poll(() => page.locator('#timeline-other tr.row').count()).toBe(1);
    expect(await page.locator('#timeline img, #timeline-body script').count()).toBe(0);
    expect(await page.evaluate(() => typeof (globalThis as unknown as BrowserGlobals).__xss)).toBe('undefined');
    expect(problems).toEqual([expect.stringContaining('400')]); // only the bad filter's request, logged by the browser
  });
});
