import { describe, expect, it } from 'vitest';
import { ConfigError, parseConfig, parseConfigText, resolveObjectPolicy } from '../../src/core/config.js';
import { baseConfig } from '../support/fakes.js';

const issuesOf = (value: unknown): readonly string[] => {
  try {
    parseConfig(value);
  } catch (err) {
    if (err instanceof ConfigError) return err.issues;
    throw err;
  }
  return [];
};

describe('configuration', () => {
  it('applies documented defaults: 80 % of lifetime or 30 days, all types, auto', () => {
    const config = parseConfig({ vaults: [{ name: 'kv1', url: 'https://kv1.vault.azure.net/' }] });
    expect(config.defaults).toEqual({
      mode: 'auto',
      renewBefore: { days: 30, percentOfLifetime: 80 },
      types: ['certificate', 'key', 'secret'],
      autoRenewableIssuers: ['Self'],
      keyVaultLifetimeActions: 'respect',
      keyVaultRenewalGraceHours: 48,
    });
    expect(config.limits.rsa2048CreatesPer10s).toBe(20);
  });

  it('names the field of every problem', () => {
    const issues = issuesOf({
      vaults: [
        { name: 'kv1', url: 'http://kv1.vault.azure.net/' },
        { name: 'kv1', url: 'https://x/', types: ['cert'] },
      ],
      defaults: { renewBefore: '14 days' },
      objects: [{ vault: 'nope', type: 'secret', name: 's', secretKind: 'missing' }],
      surprise: true,
    });
    expect(issues).toEqual(
      expect.arrayContaining([
        expect.stringMatching(/^config\.vaults\[0\]\.url: /),
        expect.stringMatching(/^config\.vaults\[1\]\.types\[0\]: /),
        expect.stringMatching(/^config\.defaults\.renewBefore: /),
        expect.stringMatching(/^config: Unrecognized key: "surprise"/),
      ]),
    );
  });

  it('refuses a password kind too short for its minimum of each character class, naming the field', () => {
    const issues = issuesOf({
      vaults: [{ name: 'kv1', url: 'https://kv1.vault.azure.net/' }],
      secretKinds: { pw: { generator: 'password', length: 8, minOfEach: 3 } },
    });
    expect(issues).toEqual(['config.secretKinds.pw.length: must be at least 12 to hold 3 of each of 4 character classes (minOfEach)']);
    expect(issuesOf({ vaults: [{ name: 'kv1', url: 'https://kv1.vault.azure.net/' }], secretKinds: { pw: { generator: 'password', length: 12, minOfEach: 3 } } })).toEqual([]);
  });

  it('checks cross-references after the shape', () => {
    const issues = issuesOf({
      vaults: [{ name: 'kv1', url: 'https://kv1.vault.azure.net/' }, { name: 'KV1', url: 'https://kv2.vault.azure.net/' }],
      objects: [{ vault: 'nope', type: 'secret', name: 's', secretKind: 'missing' }],
    });
    expect(issues).toEqual([
      'config.vaults[1].name: vault "KV1" is listed twice',
      'config.objects[0].vault: vault "nope" is not in vaults',
      'config.objects[0].secretKind: secret kind "missing" is not in secretKinds',
    ]);
  });

  it('reports JSON syntax errors with the source', () => {
    expect(() => parseConfigText('{"vaults": [', 'ROTOR_CONFIG')).toThrow(/ROTOR_CONFIG is not valid JSON/);
    expect(() => parseConfigText('{"vaults": []}', 'rotor.json')).toThrow(/\(rotor\.json\)[\s\S]*config\.vaults: list at least one vault/);
  });
});

describe('per-object policy', () => {
  const config = baseConfig({
    vaults: [{ name: 'hpc-kv', url: 'https://hpc-kv.vault.azure.net/', mode: 'notify', renewBefore: '20d' }],
    objects: [{ vault: 'hpc-kv', type: 'certificate', name: 'hpc-node', profile: 'hpc-pack', mode: 'auto' }],
  });
  const obj = (tags: Record<string, string>, type: 'certificate' | 'key' | 'secret' = 'certificate', name = 'hpc-node') => ({
    vault: 'hpc-kv',
    type,
    name,
    tags,
  });

  it('layers defaults, vault, config entry and tags, and says where each came from', () => {
    const r = resolveObjectPolicy(config, obj({ 'rotor-renew-before': '14d' }));
    expect(r).toMatchObject({ ok: true, policy: { mode: 'auto', profile: 'hpc-pack', renewBefore: { days: 14 } } });
    if (r.ok) {
      expect(r.policy.sources).toMatchObject({
        mode: 'config objects entry certificate/hpc-node',
        renewBefore: 'tag rotor-renew-before=14d',
      });
    }
    const other = resolveObjectPolicy(config, obj({}, 'certificate', 'other'));
    expect(other).toMatchObject({ ok: true, policy: { mode: 'notify', renewBefore: { days: 20 } } });
  });

  it('reads tags case-insensitively and trims values', () => {
    const r = resolveObjectPolicy(config, obj({ ' Rotor-Policy ': ' OFF ' }, 'certificate', 'x'));
    expect(r).toMatchObject({ ok: true, policy: { mode: 'off' } });
  });

  it.each([
    [{ 'rotor-policy': 'sometimes' }, 'tag rotor-policy'],
    [{ 'rotor-renew-before': 'soon' }, 'tag rotor-renew-before'],
    [{ 'rotor-secret-kind': 'unknown-kind' }, 'tag rotor-secret-kind'],
    [{ 'rotor-profile': 'hpc-pack' }, 'tag rotor-profile=hpc-pack'],
    [{ 'rotor-expected-rotation': 'monthly' }, 'tag rotor-expected-rotation'],
  ])('a bad tag %j fails this object only, naming %s', (tags, field) => {
    const r = resolveObjectPolicy(config, obj(tags, 'secret', 's1'));
    expect(r.ok).toBe(false);
    if (!r.ok) expect(r.field).toBe(field);
  });

  it('external secret kinds carry their expected rotation period', () => {
    const r = resolveObjectPolicy(config, obj({ 'rotor-secret-kind': 'nexus-credential' }, 'secret', 'nexus'));
    expect(r).toMatchObject({ ok: true, policy: { expectedRotationMs: 30 * 86_400_000 } });
  });
});
