import { describe, expect, it } from 'vitest';
import { KeyVaultError } from '../../src/local/keyvault/errors.js';
import {
  decodeSkipToken,
  encodeSkipToken,
  indexAfter,
  namePage,
  nextLink,
  parsePageRequest,
  versionPage,
} from '../../src/local/keyvault/paging.js';

describe('skip tokens', () => {
  it('round-trips markers', () => {
    for (const marker of ['', 'cert-01', '27', 'ünïcode']) expect(decodeSkipToken(encodeSkipToken(marker))).toBe(marker);
  });

  it('rejects tokens it did not issue with 400 BadParameter', () => {
    for (const token of ['garbage', Buffer.from('{"x":1}').toString('base64url'), Buffer.from('null').toString('base64url')]) {
      expect(() => decodeSkipToken(token)).toThrow(KeyVaultError);
      try {
        decodeSkipToken(token);
      } catch (err) {
        expect(err).toMatchObject({ status: 400, code: 'BadParameter' });
      }
    }
  });
});

describe('page requests', () => {
  it('defaults to 25 and accepts 1..25', () => {
    expect(parsePageRequest(new URLSearchParams(''))).toEqual({ maxResults: 25, marker: undefined });
    expect(parsePageRequest(new URLSearchParams('maxresults=7')).maxResults).toBe(7);
    for (const bad of ['0', '26', '2.5', 'x']) expect(() => parsePageRequest(new URLSearchParams(`maxresults=${bad}`))).toThrow('maxresults');
  });
});

describe('pages', () => {
  const names = Array.from({ length: 60 }, (_, i) => `n${String(i).padStart(2, '0')}`);

  it('walks names after the marker, so objects created between pages neither repeat nor vanish', () => {
    const first = namePage(names, { maxResults: 25, marker: undefined }, (n) => n);
    expect(first.items).toEqual(names.slice(0, 25));
    expect(first.nextMarker).toBe('n24');
    const grown = [...names, 'n245'].sort();
    const second = namePage(grown, { maxResults: 25, marker: first.nextMarker }, (n) => n);
    expect(second.items[0]).toBe('n245');
    expect(second.items).not.toContain('n24');
    const last = namePage(names, { maxResults: 25, marker: 'n49' }, (n) => n);
    expect(last).toEqual({ items: names.slice(50), nextMarker: undefined });
  });

  it('skips entries the list leaves out without exceeding the page size', () => {
    const page = namePage(names, { maxResults: 5, marker: undefined }, (n) => (Number(n.slice(1)) % 2 ? undefined : n));
    expect(page.items).toEqual(['n00', 'n02', 'n04', 'n06', 'n08']);
    expect(page.nextMarker).toBe('n08');
  });

  it('pages versions in version-id order (as Key Vault does), continuing after the last id returned', () => {
    const ids = Array.from({ length: 30 }, (_, i) => ({ version: (i * 7919 % 30).toString(16).padStart(32, '0') }));
    const sorted = [...ids].sort((a, b) => a.version.localeCompare(b.version));
    const first = versionPage(ids, { maxResults: 25, marker: undefined }, (v) => v.version);
    expect(first).toEqual({ items: sorted.slice(0, 25).map((v) => v.version), nextMarker: sorted[24]?.version });
    const grown = [...ids, { version: 'f'.repeat(32) }];
    expect(versionPage(grown, { maxResults: 25, marker: first.nextMarker }, (v) => v.version)).toEqual({
      items: [...sorted.slice(25).map((v) => v.version), 'f'.repeat(32)],
      nextMarker: undefined,
    });
    expect(() => versionPage(ids, { maxResults: 25, marker: 'n24' }, (v) => v)).toThrow(KeyVaultError);
  });

  it('finds the position after a marker by binary search', () => {
    expect(indexAfter(names, undefined)).toBe(0);
    expect(indexAfter(names, 'n10')).toBe(11);
    expect(indexAfter(names, 'n105')).toBe(11);
    expect(indexAfter(names, 'zzz')).toBe(60);
  });

  it('builds an absolute nextLink keeping the query', () => {
    const link = nextLink('https://127.0.0.1:4443', '/keys/k/versions', new URLSearchParams('api-version=2025-07-01&maxresults=5'), '5');
    const url = new URL(link);
    expect(`${url.origin}${url.pathname}`).toBe('https://127.0.0.1:4443/keys/k/versions');
    expect(url.searchParams.get('api-version')).toBe('2025-07-01');
    expect(url.searchParams.get('maxresults')).toBe('5');
    expect(decodeSkipToken(url.searchParams.get('$skiptoken') ?? '')).toBe('5');
    expect(link).toContain('&$skiptoken=');
  });
});
