/**
 * Fuzz: the other inputs from outside — object tags, the configuration document, the audit API's query strings and
 * the CLI's arguments (issue 13). Seeded and count-bounded (test/fuzz/settings.ts). Invariants: a bad input is
 * refused with an error that names what was wrong (a tag, a config field, a query parameter, a CLI option); nothing
 * throws anything else, nothing answers 500.
 */
import { CommanderError } from 'commander';
import fc from 'fast-check';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { useAuditServices } from '../../src/app/services.js';
import { UsageError } from '../../src/cli/exit.js';
import { buildProgram } from '../../src/cli/main.js';
import { ConfigError, parseConfig, parseConfigText, resolveObjectPolicy } from '../../src/core/config.js';
import { QUERY_PARAMETERS } from '../../src/core/audit-query.js';
import { auditPartition, auditRowKey } from '../../src/adapters/storage/keys.js';
import { auditObject } from '../../src/functions/auditObject.js';
import { auditQuery } from '../../src/functions/auditQuery.js';
import { auditVerify } from '../../src/functions/auditVerify.js';
import { bodyOf, corpus, get, NOW, quietContext, startAuditEnv, writeAll, type AuditEnv } from '../support/audit.js';
import { hostileString, hostileValue, shortString, withPrototypeKeys } from './arbitraries.js';
import { fuzzParameters } from './settings.js';

const TAG_NAMES = ['rotor-policy', 'rotor-renew-before', 'rotor-secret-kind', 'rotor-profile', 'rotor-expected-rotation'] as const;
const VALID_CONFIG = {
  vaults: [{ name: 'hpc-kv', url: 'https://hpc-kv.vault.azure.net/', types: ['certificate', 'secret'], mode: 'auto' }],
  defaults: { mode: 'auto', renewBefore: { days: 30, percentOfLifetime: 80 } },
  secretKinds: { pw: { generator: 'password', length: 24, minOfEach: 2, validityDays: 90 } },
  objects: [{ vault: 'hpc-kv', type: 'certificate', name: 'hpc-node-comm', profile: 'hpc-pack' }],
  verification: { deadlineHours: 24, recheckMinutes: 60 },
  rotation: { maxAttempts: 5 },
};
const config = parseConfig(VALID_CONFIG);

describe('fuzz: object tags', () => {
  const tagValue = fc.oneof(
    fc.constantFrom('auto', 'notify', 'off', '14d', '75%', '14d,75%', '0d', '100%', '101%', '-1d', 'pw', 'hpc-pack', 'hpc-cache', '30d', ' AUTO ', '9999999999d'),
    shortString,
    hostileString,
  );
  const tagName = fc.oneof({ weight: 4, arbitrary: fc.constantFrom(...TAG_NAMES, 'ROTOR-POLICY', ' rotor-profile ', '__proto__', 'constructor') }, { weight: 1, arbitrary: shortString });
  const tags = fc.oneof(fc.dictionary(tagName, tagValue, { maxKeys: 6 }), fc.dictionary(tagName, tagValue, { maxKeys: 3 }).map((d) => withPrototypeKeys(d, 'auto')));

  it('a tag never breaks policy resolution: the object gets a policy, or a violation naming the tag', { timeout: 600_000 }, () => {
    fc.assert(
      fc.property(tags, fc.constantFrom('certificate', 'key', 'secret'), (t, type) => {
        const result = resolveObjectPolicy(config, { vault: 'hpc-kv', type, name: 'obj', tags: t as Record<string, string> });
        if (!result.ok) {
          expect(result.field).toMatch(/^tag rotor-/);
          expect(result.message.length).toBeGreaterThan(0);
        } else {
          expect(['auto', 'notify', 'off']).toContain(result.policy.mode);
        }
      }),
      fuzzParameters(3000),
    );
  });
});

describe('fuzz: the configuration document', () => {
  const paths = fc.array(fc.oneof(fc.constantFrom('vaults', 'defaults', 'secretKinds', 'objects', 'consumers', 'verification', 'rotation', 'limits', 'name', 'url', 'mode', 'types', 'renewBefore', 'pw', 'length', 'generator', '__proto__', 'constructor'), fc.nat(3)), { minLength: 1, maxLength: 4 });
  const mutated = fc.tuple(paths, hostileValue(hostileString), fc.boolean()).map(([path, value, remove]) => {
    const doc = JSON.parse(JSON.stringify(VALID_CONFIG)) as Record<string, unknown>;
    let node: Record<string, unknown> = doc;
    // Own properties only: walking into `__proto__` would change Object.prototype for the whole process.
    for (const key of path.slice(0, -1)) {
      const next = Object.hasOwn(node, String(key)) ? node[String(key)] : undefined;
      if (typeof next !== 'object' || next === null) break;
      node = next as Record<string, unknown>;
    }
    const last = String(path[path.length - 1]);
    if (Array.isArray(node) && last === 'length') return doc;
    if (remove) {
      if (Object.hasOwn(node, last)) Reflect.deleteProperty(node, last);
    } else Object.defineProperty(node, last, { value, enumerable: true, writable: true, configurable: true });
    return doc;
  });
  const documents = fc.oneof(mutated, fc.anything({ maxDepth: 3, withNullPrototype: true, withObjectString: true }), fc.constant(withPrototypeKeys(VALID_CONFIG, { vaults: [] })));

  it('a document is accepted or refused with issues that each name a field; nothing else is thrown', { timeout: 600_000 }, () => {
    fc.assert(
      fc.property(documents, (doc) => {
        try {
          parseConfig(doc);
        } catch (err) {
          expect(err).toBeInstanceOf(ConfigError);
          const issues = (err as ConfigError).issues;
          expect(issues.length).toBeGreaterThan(0);
          for (const issue of issues) expect(issue).toMatch(/^config(\.|\[|:)/);
        }
      }),
      fuzzParameters(2000),
    );
  });

  it('any text is accepted or refused with a ConfigError', { timeout: 600_000 }, () => {
    const texts = fc.oneof(hostileString, mutated.map((d) => JSON.stringify(d)), mutated.map((d) => JSON.stringify(d).slice(0, -3)));
    fc.assert(
      fc.property(texts, (text) => {
        try {
          parseConfigText(text, 'ROTOR_CONFIG');
        } catch (err) {
          expect(err).toBeInstanceOf(ConfigError);
        }
      }),
      fuzzParameters(1000),
    );
  });
});

describe('fuzz: the audit API and the CLI over a log with a damaged row', () => {
  let env: AuditEnv;
  beforeAll(async () => {
    env = await startAuditEnv();
    await writeAll(env.log, corpus());
    // A damaged row among them: every reader must survive it.
    const day = new Date('2026-11-18T10:00:00.000Z');
    await env.client.createEntity({ partitionKey: auditPartition('hpc-prod-kv', day), rowKey: auditRowKey(day, 4242), eventTime: 'garbage', chainSeq: 'x' });
    useAuditServices({ clock: { now: () => NOW }, reader: env.reader });
  });
  afterAll(async () => env?.stop());

  const parameterName = fc.oneof({ weight: 6, arbitrary: fc.constantFrom(...QUERY_PARAMETERS, 'format', 'code') }, { weight: 1, arbitrary: shortString });
  const parameterValue = fc.oneof(
    fc.constantFrom('hpc-prod-kv', 'HPC-DEV-KV', 'certificate', 'key', 'RotationCompleted', 'Failed', 'timer', '2026-11-01', '2026-11-19T00:00:00Z', '10', '1000', '0', '1001', 'csv', 'json', 'eyJ2IjoxfQ', '9999-99-99'),
    shortString,
    hostileString,
  );
  const queryString = fc.array(fc.tuple(parameterName, parameterValue), { maxLength: 5 }).map((pairs) => {
    const params = new URLSearchParams();
    for (const [k, v] of pairs) params.append(k, v);
    return params.toString();
  });

  it('GET /api/audit, /api/audit/verify and /api/audit/objects answer 200 or a 400 naming the parameter, never 500', { timeout: 600_000 }, async () => {
    await fc.assert(
      fc.asyncProperty(queryString, fc.constantFrom('query', 'verify', 'object'), fc.tuple(parameterValue, parameterValue, parameterValue), async (qs, route, [v, ty, n]) => {
        const res =
          route === 'query'
            ? await auditQuery(get(`/api/audit?${qs}`), quietContext())
            : route === 'verify'
              ? await auditVerify(get(`/api/audit/verify?${qs}`), quietContext())
              : await auditObject(get('/api/audit/objects/x/y/z', { vault: v, type: ty, name: n }), quietContext());
        const body = await bodyOf(res);
        expect([200, 400]).toContain(body.status);
        if (body.status === 400) expect((body.json() as unknown as { error: { parameter: string } }).error.parameter.length).toBeGreaterThan(0);
      }),
      fuzzParameters(400),
    );
  });

  const option = fc.oneof(
    fc.constantFrom('--vault', '--type', '--name', '--action', '--outcome', '--trigger', '--run-id', '--since', '--from', '--to', '--page-size', '--continuation', '--format', '--all', '--unknown', '-x', '--'),
    shortString.filter((s) => !s.startsWith('--local') && !s.startsWith('--help') && !s.startsWith('-h') && !s.startsWith('-V') && !s.startsWith('--version')),
  );
  const argv = fc.tuple(
    fc.constantFrom(['audit'], ['audit', 'verify'], ['audit', 'timeline'], ['audit', 'timeline', 'hpc-prod-kv', 'certificate']),
    fc.array(fc.oneof(option, parameterValue.filter((s) => !s.startsWith('-'))), { maxLength: 6 }),
  );

  it('rotor audit, audit verify and audit timeline finish or fail with an error naming the option; never crash', { timeout: 600_000 }, async () => {
    const quiet = () => undefined;
    const spies = [vi.spyOn(console, 'log').mockImplementation(quiet), vi.spyOn(console, 'error').mockImplementation(quiet), vi.spyOn(process.stdout, 'write').mockImplementation(() => true)];
    try {
      await fc.assert(
        fc.asyncProperty(argv, async ([command, args]) => {
          const program = buildProgram();
          const silence = (c: typeof program): void => {
            c.exitOverride().configureOutput({ writeOut: quiet, writeErr: quiet });
            for (const sub of c.commands) silence(sub);
          };
          silence(program);
          try {
            await program.parseAsync(['node', 'rotor', ...command, ...args]);
          } catch (err) {
            // Commander's usage errors, or Rotor's own: a UsageError (exit code 2) or a plain Error, with a message.
            const ok =
              err instanceof CommanderError ||
              (err instanceof UsageError && err.message.length > 0) ||
              (err instanceof Error && err.constructor === Error && err.message.length > 0);
            expect(ok, `${(err as Error).name}: ${(err as Error).message}`).toBe(true);
          } finally {
            process.exitCode = undefined;
          }
        }),
        fuzzParameters(300),
      );
    } finally {
      for (const s of spies) s.mockRestore();
    }
  });
});
