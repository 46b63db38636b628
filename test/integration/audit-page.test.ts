/**
 * The auditors' page, served by the local HTTP host through the registered handlers, driven in headless Chromium
 * (Debian's `chromium`, through playwright-core): filters, paging, CSV link, colours, timelines — and no XSS from
 * hostile names. Skipped, saying so, only when /usr/bin/chromium is missing (CI installs it).
 */
import { existsSync } from 'node:fs';
import { mkdir, mkdtemp, rm } from 'node:fs/promises';
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
import { auditRecord, type AuditRecord } from '../../src/core/audit.js';
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
/**
 * Rows as a real estate writes them, the newest of the log: full ARM ids in consumer labels, long details, long
 * object names, thumbprints — what made the list unreadable (a 57 px detail column, 782 px rows).
 */
function wideRows(): AuditRecord[] {
  const sub = '/subscriptions/00000000-0000-0000-0000-000000000000/resourceGroups/hpc-production-rg/providers/Microsoft.Batch/batchAccounts/hpcbatch';
  const run = { runId: 'timer-20261120T020000Z-0a1b2c3d', trigger: 'timer' as const };
  const base = { vault: 'hpc-wide-kv', objectType: 'certificate' as const, objectName: 'batch-node-tls-certificate-for-the-render-and-solver-pools-2026', rotationId: 'aaaaaaaa-bbbb-4ccc-8ddd-eeeeeeeeeeee' };
  const versions = { previousVersion: '4a2ff0b524a730f3f31ae07f9012bdd1', version: '6b190bd9091f1817ebeb7a474d26203d' };
  const thumbs = { previousThumbprint: '9526725DD5C4F73B8717D59B8A76B7B7B4C9615F', thumbprint: '7C1F2796A1B2C3D4E5F60718293A4B5C6D7E8F90' };
  const long =
    'the KeyVaultForWindows extension observes version 4a2ff0b524a730f3f31ae07f9012bdd1 explicitly, so nodes keep the old certificate; ' +
    'recreate the pool (extension settings cannot be changed on an existing pool) observing the versionless URL ' +
    'https://hpc-batch-kv.vault.azure.net/secrets/batch-node-tls-certificate-for-the-render-and-solver-pools-2026 — '.repeat(3);
  const at = (m: number) => new Date(Date.UTC(2026, 10, 20, 2, m, 0));
  const rows: AuditRecord[] = [
    auditRecord(run, at(0), { ...base, action: 'Detected', outcome: 'Info', reason: 'LifetimeElapsed', detail: '82.2 % of its 365 days lifetime has elapsed (rotate at 80 %); expires 2027-02-07' }),
    auditRecord(run, at(1), { ...base, ...versions, ...thumbs, action: 'VersionCreated', outcome: 'Succeeded', reason: 'LifetimeElapsed', detail: `new version ${versions.version} valid until 2027-12-04; previous version left enabled` }),
    auditRecord(run, at(2), { ...base, ...versions, action: 'RotationFailed', outcome: 'Failed', reason: 'VerificationDeadline', detail: `consumers did not converge by the deadline: ${long}` }),
  ];
  for (const [i, pool] of ['render-linux', 'solver-windows-pinned', 'legacy-postproc', 'preprocessing-linux-lowpriority-spot'].entries()) {
    const stale = i > 0;
    rows.push(
      auditRecord(run, at(3 + i), {
        ...base,
        ...versions,
        action: stale ? 'ConsumerStale' : 'ConsumerVerified',
        outcome: stale ? 'Failed' : 'Succeeded',
        reason: stale ? 'PinnedToOldVersion' : 'VersionlessUrlPolled',
        consumer: `Batch pool hpcbatch/${pool} (${sub}/pools/${pool})`,
        expected: versions.version,
        observed: stale ? versions.previousVersion : versions.version,
        detail: stale ? long : 'observes the versionless secret URL; nodes picked up the new version',
      }),
    );
  }
  return rows;
}

const records = [...corpus(), ...wideRows()];
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

  describe('layout at 1280 and 1920 px (screenshots in test-results/)', () => {
    interface Dom {
      document: {
        documentElement: { scrollWidth: number; clientWidth: number };
        querySelectorAll(s: string): ArrayLike<{ getBoundingClientRect(): { height: number; width: number; top: number } }>;
        querySelector(s: string): { getBoundingClientRect(): { height: number; width: number; top: number } } | null;
      };
      scrollTo(x: number, y: number): void;
      getComputedStyle(e: unknown): { backgroundColor: string; position: string };
    }
    const shots = join(import.meta.dirname, '../../test-results');
    const measure = () =>
      page.evaluate(() => {
        const w = globalThis as unknown as Dom;
        const rowsOf = (sel: string) => Array.from(w.document.querySelectorAll(sel));
        return {
          overflow: w.document.documentElement.scrollWidth - w.document.documentElement.clientWidth,
          maxRow: Math.max(0, ...rowsOf('#rows-body tr.row, #attention-body tr.row').map((r) => r.getBoundingClientRect().height)),
          detailWidth: w.document.querySelector('#rows th:last-child')?.getBoundingClientRect().width ?? 0,
        };
      });

    for (const width of [1280, 1920]) {
      it(`the list at ${width} px: no horizontal scrolling, bounded rows, wide detail, short consumer names, thumbprints`, async () => {
        await mkdir(shots, { recursive: true });
        await page.setViewportSize({ width, height: 1000 });
        await page.goto(`${host.url}${AUDIT_PAGE_PATH}#/`);
        await expect.poll(() => rows().count(), { timeout: 60_000 }).toBe(100);
        await page.screenshot({ path: join(shots, `audit-page-list-${width}.png`) });
        const m = await measure();
        expect(m.overflow).toBeLessThanOrEqual(0);
        expect(m.maxRow).toBeLessThanOrEqual(110);
        expect(m.detailWidth).toBeGreaterThanOrEqual(width === 1280 ? 300 : 900);
        // Short consumer names; the full label with its ARM id on hover.
        const consumer = page.locator('#rows-body td.c-consumer', { hasText: 'solver-windows-pinned' });
        expect(await consumer.textContent()).toBe('Batch poolhpcbatch/solver-windows-pinned');
        expect(await consumer.getAttribute('title')).toContain('/pools/solver-windows-pinned');
        expect(await page.locator('#rows-body .c-thumbprint', { hasText: '9526725D → 7C1F2796' }).count()).toBe(1);
        // One colour scheme: stale amber, failed red.
        const bg = (sel: string) => page.locator(sel).first().evaluate((e) => (globalThis as unknown as Dom).getComputedStyle(e).backgroundColor);
        expect(await bg('#rows-body tr.row.stale td')).toBe('rgb(255, 244, 214)');
        expect(await bg('#rows-body tr.row.failed td')).toBe('rgb(253, 236, 234)');
        // The detail expands on click; the header stays on screen while scrolling.
        const failedRow = page.locator('#rows-body tr.row.failed', { hasText: 'VerificationDeadline' });
        const before = (await failedRow.boundingBox())!.height;
        await failedRow.locator('td.c-detail').click();
        expect((await failedRow.boundingBox())!.height).toBeGreaterThan(before);
        await page.evaluate(() => (globalThis as unknown as Dom).scrollTo(0, 3000));
        const header = await page.locator('#rows thead th').first().boundingBox();
        expect(header!.y).toBeGreaterThanOrEqual(-1);
        expect(header!.y).toBeLessThan(5);
        await page.screenshot({ path: join(shots, `audit-page-list-${width}-scrolled.png`) });
      });

      it(`Needs attention at ${width} px: open problems by kind, newest first, no horizontal scrolling`, async () => {
        await page.setViewportSize({ width, height: 1000 });
        await page.goto(`${host.url}${AUDIT_PAGE_PATH}#/attention`);
        await expect.poll(() => page.locator('#attention-status').textContent(), { timeout: 60_000 }).toMatch(/open problem|Nothing/);
        await page.screenshot({ path: join(shots, `audit-page-attention-${width}.png`), fullPage: true });
        const kinds = await page.locator('#attention-body td.c-kind').allTextContents();
        expect(kinds).toContain('Failed');
        expect(kinds).toContain('Stale');
        expect(kinds).toContain('ManualActionRequired');
        // Each stale pool once (its newest row), the verified pool not at all.
        const pools = await page.locator('#attention-body td.c-consumer .name').allTextContents();
        expect(pools.filter((p) => p.includes('hpcbatch/')).sort()).toEqual(['hpcbatch/legacy-postproc', 'hpcbatch/preprocessing-linux-lowpriority-spot', 'hpcbatch/solver-windows-pinned']);
        const m = await measure();
        expect(m.overflow).toBeLessThanOrEqual(0);
        expect(m.maxRow).toBeLessThanOrEqual(110);
        expect(await page.locator('#tab-attention').getAttribute('class')).toBe('current');
        await page.goto(`${host.url}${AUDIT_PAGE_PATH}?code=local-key#/`);
        await expect.poll(() => rows().count(), { timeout: 60_000 }).toBe(100);
      });
    }
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
