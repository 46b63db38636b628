/**
 * Acceptance of infra/ without a Bicep compiler: the templates are read with a purpose-built reader
 * (test/support/bicep.ts) and checked against the code — the settings it reads (src/settings.ts, and the settings
 * the functions' bindings name), its function names, queues, tables and event types — and against the deployment
 * rules: Flex Consumption with a user-assigned identity, identity-only storage and telemetry, least-privilege
 * role assignments that each say why, no secrets. Each rule is also run on a bad template, to show it can fail.
 * When someone adds a setting to src/settings.ts, this test fails until infra/ defines it (or marks it optional).
 */
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { describe, expect, it } from 'vitest';
import { QUEUES, TABLES } from '../../src/adapters/storage/clients.js';
import { parseConfig } from '../../src/core/config.js';
import { EVENT_KINDS, parseVaultEvents } from '../../src/core/events.js';
import { SETTINGS } from '../../src/settings.js';
import { baseConfig } from '../support/fakes.js';
import { bodyOf, evaluate, find, parseBicep, prop, render, resourcesOfType, type BicepFile } from '../support/bicep.js';
import {
  appSettingsOf,
  checkAppSettings,
  checkNoSecrets,
  checkRoleAssignments,
  KEY_ROTATOR_DATA_ACTIONS,
  parseSimpleYaml,
  SECRET_PATTERNS,
  substituteAzdPlaceholders,
} from '../support/infra-checks.js';

const root = resolve(import.meta.dirname, '../..');
const infra = join(root, 'infra');
const read = (path: string): string => readFileSync(join(root, path), 'utf8');
const templatePaths = ['infra/main.bicep', ...readdirSync(join(infra, 'modules')).filter((f) => f.endsWith('.bicep')).map((f) => `infra/modules/${f}`)];
const templates = new Map<string, BicepFile>(templatePaths.map((p) => [p, parseBicep(read(p), p)]));
const template = (path: string): BicepFile => {
  const file = templates.get(path);
  if (!file) throw new Error(`${path} is missing`);
  return file;
};
const main = template('infra/main.bicep');
const app = template('infra/modules/app.bicep');
const events = template('infra/modules/vault-events.bicep');

/** What the functions register: name → trigger kind and options text (src/functions/*.ts). */
const functionSources = readdirSync(join(root, 'src/functions'))
  .filter((f) => f.endsWith('.ts'))
  .map((f) => read(`src/functions/${f}`));
const registrations = functionSources.flatMap((text) =>
  [...text.matchAll(/app\.(\w+)\(\s*'(\w+)'\s*,\s*\{([^}]*)\}/g)].map((m) => ({ trigger: m[1]!, name: m[2]!, options: m[3]! })),
);
/** Settings the bindings reference: `%NAME%` expressions and `connection: 'NAME'`. */
const bindingSettings = [
  ...new Set(registrations.flatMap((r) => [...[...r.options.matchAll(/%(\w+)%/g)].map((m) => m[1]!), ...[...r.options.matchAll(/connection:\s*'(\w+)'/g)].map((m) => m[1]!)])),
];

const body = (file: BicepFile, type: string, index = 0) => {
  const resource = resourcesOfType(file, type)[index];
  if (!resource) throw new Error(`${file.path} has no ${type}`);
  return bodyOf(resource.value).body;
};

describe('template wiring', () => {
  it('module calls pass every parameter a module requires and none it does not declare', () => {
    for (const file of templates.values()) {
      for (const call of file.declarations.filter((d) => d.kind === 'module')) {
        const target = template(join(file.path, '..', call.type ?? '').replace(/^.*?infra\//, 'infra/'));
        const declared = target.declarations.filter((d) => d.kind === 'param');
        const params = prop(bodyOf(call.value).body, 'params');
        const passed = params?.kind === 'object' ? params.properties.map((p) => p.key) : [];
        for (const key of passed) expect(declared.map((d) => d.name), `${file.path}: module ${call.name} passes ${key}`).toContain(key);
        for (const d of declared.filter((d) => !d.value)) expect(passed, `${file.path}: module ${call.name} misses ${d.name}`).toContain(d.name);
      }
    }
  });

  it('uses each parameter decorator only on the types it applies to', () => {
    const applies: Record<string, string[]> = { minValue: ['int'], maxValue: ['int'], minLength: ['string', 'array'], maxLength: ['string', 'array'] };
    for (const file of templates.values()) {
      for (const d of file.declarations.filter((x) => x.kind === 'param')) {
        for (const decorator of d.decorators) {
          const types = applies[decorator.name];
          if (types) expect(types, `${file.path}: @${decorator.name} on param ${d.name} (${d.type})`).toContain(d.type);
        }
      }
    }
  });
});

describe('the Bicep reader', () => {
  it('reads every template in infra/', () => {
    expect(templatePaths.length).toBeGreaterThanOrEqual(6);
    for (const file of templates.values()) expect(file.declarations.length, file.path).toBeGreaterThan(3);
  });

  it('reads the subset it claims: interpolation, comments, conditions, loops, lambdas, single-line objects', () => {
    const file = parseBicep(
      [
        "param names array = ['a', 'b']",
        'var ids = { first: 1 }',
        "// Why: a comment on the resource",
        "resource r 'Microsoft.X/y@2024-01-01' = [for (n, i) in names: if (i > 0) {",
        "  name: '${n}-${ids.first}'",
        '  // a property comment',
        "  tags: union({ a: 'x', b: 'y' }, {})",
        "  list: map(names, n => toUpper(n))",
        '  nested: {',
        "    s: 'it\\'s'",
        '  }',
        '}]',
      ].join('\n'),
    );
    const r = find(file, 'resource', 'r')!;
    expect(r.comments).toEqual(['Why: a comment on the resource']);
    const { body: b, condition, loop } = bodyOf(r.value);
    expect(loop?.index).toBe('i');
    expect(render(condition)).toBe('i > 0');
    expect(render(prop(b, 'name'))).toBe("'${n}-${ids.first}'");
    expect(b?.properties.find((p) => p.key === 'tags')?.comments).toEqual(['a property comment']);
    expect(render(prop(b, 'list'))).toBe('map(names, (n) => toUpper(n))');
    expect(evaluate(prop(b, 'nested.s'), file)).toBe("it's");
    expect(evaluate(prop(b, 'tags'), file)).not.toBe('x');
  });

  it('rejects what it does not understand, naming the line', () => {
    expect(() => parseBicep("param a string\nimport 'x.bicep'")).toThrow(/inline\.bicep:2: unsupported declaration "import"/);
    expect(() => parseBicep("var a = 'unterminated")).toThrow(/:1: unterminated string/);
  });
});

describe('app settings', () => {
  const { settings, problems } = appSettingsOf(app);

  it('come from one object var that the site uses', () => {
    expect(problems).toEqual([]);
    expect(settings).toBeDefined();
  });

  it('define every setting the code needs in Azure, no local-only or unknown setting, nothing secret', () => {
    expect(checkAppSettings(settings!, app, bindingSettings)).toEqual([]);
  });

  it('cover the settings the function bindings reference', () => {
    expect(bindingSettings).toEqual(expect.arrayContaining(['ROTOR_SCHEDULE', 'ROTOR_STORAGE']));
  });

  it('are the only environment the code reads (every read goes through src/settings.ts)', () => {
    const offenders: string[] = [];
    const walk = (dir: string): string[] =>
      readdirSync(join(root, dir), { withFileTypes: true }).flatMap((e) => (e.isDirectory() ? walk(`${dir}/${e.name}`) : e.name.endsWith('.ts') ? [`${dir}/${e.name}`] : []));
    const names = new Set(Object.values(SETTINGS).map((s) => s.name));
    for (const path of walk('src')) {
      for (const m of read(path).matchAll(/process\.env(?:\.(\w+)|\[\s*'(\w+)'\s*\])/g)) {
        const name = m[1] ?? m[2]!;
        if (!names.has(name)) offenders.push(`${path} reads ${name}`);
      }
    }
    expect(offenders).toEqual([]);
  });

  it('default the schedule the way src/settings.ts does', () => {
    expect(evaluate(find(main, 'param', 'schedule')?.value, main)).toBe(SETTINGS.schedule.default);
  });

  it('fail the rules when a setting is missing, unknown, local-only, deprecated on Flex or secret', () => {
    const bad = parseBicep(
      [
        'var appSettings = {',
        "  ROTOR_SCHEDULE: '0 0 2 * * *'",
        "  ROTOR_LOCAL_TOKEN: 'x'",
        "  ROTOR_UNKNOWN: 'x'",
        "  FUNCTIONS_WORKER_RUNTIME: 'node'",
        "  ROTOR_STORAGE__credential: 'connectionstring'",
        "  HPC_PASSWORD: 'hunter2'",
        "  AzureWebJobsStorage__accountName: 'DefaultEndpointsProtocol=https;AccountName=x;AccountKey=abc'",
        '}',
      ].join('\n'),
      'bad.bicep',
    );
    const violations = checkAppSettings(bad.declarations[0]!.value as Parameters<typeof checkAppSettings>[0], bad, ['ROTOR_STORAGE', 'ROTOR_OTHER']).join('\n');
    expect(violations).toMatch(/ROTOR_CONFIG is required in Azure/);
    expect(violations).toMatch(/AZURE_CLIENT_ID is required in Azure/);
    expect(violations).toMatch(/ROTOR_LOCAL_TOKEN is local-only/);
    expect(violations).toMatch(/ROTOR_UNKNOWN is not a setting Rotor reads/);
    expect(violations).toMatch(/FUNCTIONS_WORKER_RUNTIME is deprecated on Flex/);
    expect(violations).toMatch(/ROTOR_STORAGE__credential must be 'managedidentity'/);
    expect(violations).toMatch(/HPC_PASSWORD holds a secret/);
    expect(violations).toMatch(/AzureWebJobsStorage__accountName contains literal credential text/);
    expect(violations).toMatch(/bindings use ROTOR_OTHER but the Bicep does not set it/);
  });

  it('accept a secret setting only as a Key Vault reference', () => {
    const file = parseBicep("param uri string\nvar s = {\n  HPC_PASSWORD: '@Microsoft.KeyVault(SecretUri=${uri})'\n}");
    const violations = checkAppSettings(file.declarations[1]!.value as Parameters<typeof checkAppSettings>[0], file);
    expect(violations.filter((v) => v.includes('HPC_PASSWORD'))).toEqual([
      'HPC_PASSWORD is not a setting Rotor reads (src/settings.ts) nor a known platform setting',
    ]);
  });
});

describe('Flex Consumption app', () => {
  it('runs on an FC1 / FlexConsumption plan', () => {
    const plan = body(app, 'Microsoft.Web/serverfarms');
    expect(evaluate(prop(plan, 'sku'), app)).toEqual({ name: 'FC1', tier: 'FlexConsumption' });
    expect(evaluate(prop(plan, 'properties.reserved'), app)).toBe(true);
  });

  it('uses a user-assigned identity for the app, its deployment storage and Key Vault references', () => {
    const site = body(app, 'Microsoft.Web/sites');
    expect(evaluate(prop(site, 'kind'), app)).toBe('functionapp,linux');
    expect(evaluate(prop(site, 'identity.type'), app)).toBe('UserAssigned');
    expect(render(prop(site, 'properties.keyVaultReferenceIdentity'))).toBe('identity.id');
    const config = prop(site, 'properties.functionAppConfig');
    // Node 22 in Azure (Node 20 is past end of life); package.json engines admits 22, with Node 20 as CI's lower bound.
    expect(evaluate(prop(config, 'runtime'), app)).toEqual({ name: 'node', version: '22' });
    const engines = (JSON.parse(read('package.json')) as { engines: { node: string } }).engines.node;
    expect(engines).toMatch(/\^22\.\d+\.\d+/);
    expect(engines).toMatch(/\^20\.\d+\.\d+/);
    expect(evaluate(prop(config, 'deployment.storage.type'), app)).toBe('blobContainer');
    expect(evaluate(prop(config, 'deployment.storage.authentication.type'), app)).toBe('UserAssignedIdentity');
    expect(render(prop(config, 'deployment.storage.authentication.userAssignedIdentityResourceId'))).toBe('identity.id');
    expect(render(prop(config, 'deployment.storage.value'))).toMatch(/primaryEndpoints\.blob.*deploymentContainerName/);
    expect(prop(config, 'scaleAndConcurrency.instanceMemoryMB')).toBeDefined();
    expect(prop(config, 'scaleAndConcurrency.maximumInstanceCount')).toBeDefined();
  });

  it('puts optional Easy Auth (Entra ID, 401, one allowed group) in front of the app, except for Event Grid deliveries', () => {
    const [auth] = resourcesOfType(app, 'Microsoft.Web/sites/config');
    expect(auth, 'app.bicep declares authsettingsV2').toBeDefined();
    const { body: settings, condition } = bodyOf(auth?.value);
    expect(render(condition)).toBe('!empty(authClientId)');
    expect(evaluate(prop(settings, 'name'), app)).toBe('authsettingsV2');
    expect(render(prop(settings, 'parent'))).toBe('functionApp');
    const validation = prop(settings, 'properties.globalValidation');
    expect(evaluate(prop(validation, 'requireAuthentication'), app)).toBe(true);
    expect(evaluate(prop(validation, 'unauthenticatedClientAction'), app)).toBe('Return401');
    // Event Grid's webhook deliveries carry no Entra token: without this they are refused and dead-lettered.
    expect(evaluate(prop(validation, 'excludedPaths'), app)).toContain('/runtime/webhooks/eventgrid');
    const aad = prop(settings, 'properties.identityProviders.azureActiveDirectory');
    expect(render(prop(aad, 'registration.clientId'))).toBe('authClientId');
    expect(render(prop(aad, 'registration.openIdIssuer'))).toMatch(/authTenantId.*\/v2\.0/);
    expect(render(prop(aad, 'validation.defaultAuthorizationPolicy.allowedPrincipals.groups'))).toContain('authAllowedGroupId');
    // main.bicep exposes the three settings, off by default, and azd maps them from the environment.
    for (const name of ['authClientId', 'authTenantId', 'authAllowedGroupId']) {
      expect(evaluate(find(main, 'param', name)?.value, main), name).toBe('');
    }
    const parameters = read('infra/main.parameters.json');
    for (const variable of ['ROTOR_AUTH_CLIENT_ID', 'ROTOR_AUTH_TENANT_ID', 'ROTOR_AUTH_ALLOWED_GROUP_ID']) expect(parameters).toContain(variable);
  });

  it('refuses shared keys on its storage and local auth on App Insights', () => {
    const storage = body(app, 'Microsoft.Storage/storageAccounts');
    expect(evaluate(prop(storage, 'properties.allowSharedKeyAccess'), app)).toBe(false);
    expect(evaluate(prop(storage, 'properties.allowBlobPublicAccess'), app)).toBe(false);
    expect(evaluate(prop(storage, 'properties.minimumTlsVersion'), app)).toBe('TLS1_2');
    const insights = body(app, 'Microsoft.Insights/components');
    expect(evaluate(prop(insights, 'properties.DisableLocalAuth'), app)).toBe(true);
    expect(render(prop(insights, 'properties.WorkspaceResourceId'))).toBe('logAnalytics.id');
  });

  it('creates the tables and queues the code uses', () => {
    const names = (type: string) => resourcesOfType(app, type).map((r) => evaluate(prop(bodyOf(r.value).body, 'name'), app));
    expect(names('Microsoft.Storage/storageAccounts/tableServices/tables').sort()).toEqual(Object.values(TABLES).sort());
    expect(names('Microsoft.Storage/storageAccounts/queueServices/queues').sort()).toEqual([QUEUES.work, QUEUES.poison].sort());
    const queueTrigger = registrations.find((r) => r.trigger === 'storageQueue');
    expect(queueTrigger?.options).toMatch(/queueName: WORK_QUEUE/);
  });

  it('host.json exports host telemetry with OpenTelemetry', () => {
    expect((JSON.parse(read('host.json')) as { telemetryMode?: string }).telemetryMode).toBe('OpenTelemetry');
  });
});

describe('Event Grid wiring', () => {
  const eventGridFunctions = registrations.filter((r) => r.trigger === 'eventGrid').map((r) => r.name);
  const subscription = body(events, 'Microsoft.EventGrid/systemTopics/eventSubscriptions');

  it('puts a Key Vault system topic on each vault, in the vault\'s resource group', () => {
    const topic = body(events, 'Microsoft.EventGrid/systemTopics');
    expect(evaluate(prop(topic, 'properties.topicType'), events)).toBe('Microsoft.KeyVault.vaults');
    expect(render(prop(topic, 'properties.source'))).toBe('vault.id');
    expect(evaluate(prop(topic, 'identity.type'), events)).toBe('UserAssigned');
    const module = find(main, 'module', 'vaultEvents')!;
    const { body: m, loop } = bodyOf(module.value);
    expect(render(loop?.source)).toBe('vaultResourceIds');
    expect(render(prop(m, 'scope'))).toBe("resourceGroup(split(id, '/')[2], split(id, '/')[4])");
  });

  it('delivers to the vaultEvents function', () => {
    expect(eventGridFunctions).toEqual(['vaultEvents']);
    expect(evaluate(prop(subscription, 'properties.destination.endpointType'), events)).toBe('AzureFunction');
    const target = prop(subscription, 'properties.destination.properties.resourceId');
    expect(render(target)).toBe(`'\${functionAppId}/functions/${eventGridFunctions[0]}'`);
  });

  it('subscribes to exactly the Key Vault event types Rotor handles', () => {
    const types = evaluate(prop(subscription, 'properties.filter.includedEventTypes'), events) as string[];
    const expected = ['Certificate', 'Key', 'Secret'].flatMap((o) => EVENT_KINDS.map((k) => `Microsoft.KeyVault.${o}${k}`));
    expect([...types].sort()).toEqual([...expected].sort());
    const config = baseConfig();
    const vault = config.vaults[0]!.name;
    for (const eventType of types) {
      const object = eventType.replace('Microsoft.KeyVault.', '').replace(/(NewVersionCreated|NearExpiry|Expired)$/, '');
      const parsed = parseVaultEvents({ id: `e-${eventType}`, eventType, data: { VaultName: vault, ObjectType: object, ObjectName: 'obj' } }, config);
      expect(parsed.rejected, eventType).toEqual([]);
    }
  });

  it('dead-letters with Rotor\'s identity and retries', () => {
    const deadLetter = prop(subscription, 'properties.deadLetterWithResourceIdentity');
    expect(evaluate(prop(deadLetter, 'identity.type'), events)).toBe('UserAssigned');
    expect(render(prop(deadLetter, 'identity.userAssignedIdentity'))).toBe('identityId');
    expect(evaluate(prop(deadLetter, 'deadLetterDestination.endpointType'), events)).toBe('StorageBlob');
    expect(prop(deadLetter, 'deadLetterDestination.properties.blobContainerName')).toBeDefined();
    const retry = evaluate(prop(subscription, 'properties.retryPolicy'), events) as { maxDeliveryAttempts: number; eventTimeToLiveInMinutes: number };
    expect(retry.maxDeliveryAttempts).toBeGreaterThanOrEqual(1);
    expect(retry.maxDeliveryAttempts).toBeLessThanOrEqual(30);
    expect(retry.eventTimeToLiveInMinutes).toBeGreaterThanOrEqual(1);
    expect(retry.eventTimeToLiveInMinutes).toBeLessThanOrEqual(1440);
  });
});

describe('role assignments', () => {
  const results = templatePaths.map((p) => checkRoleAssignments(template(p)));

  it('use known built-in roles (or the custom key role), never broad ones, each commented, deterministic and scoped', () => {
    expect(results.flatMap((r) => r.violations)).toEqual([]);
  });

  it('grant what Rotor needs', () => {
    const granted = new Set(results.flatMap((r) => r.roles));
    for (const role of [
      'Key Vault Certificates Officer',
      'Key Vault Crypto Officer',
      'Rotor Key Rotator',
      'Key Vault Secrets Officer',
      'Storage Blob Data Owner',
      'Storage Queue Data Contributor',
      'Storage Table Data Contributor',
      'Monitoring Metrics Publisher',
      'Reader',
      'Storage Blob Data Contributor',
      'Key Vault Crypto User',
    ]) {
      expect(granted, role).toContain(role);
    }
  });

  it('keep the custom key role to the key operations Rotor performs', () => {
    const role = body(template('infra/modules/key-rotator-role.bicep'), 'Microsoft.Authorization/roleDefinitions');
    const permissions = evaluate(prop(role, 'properties.permissions'), template('infra/modules/key-rotator-role.bicep')) as Array<Record<string, string[]>>;
    expect(permissions).toHaveLength(1);
    expect(permissions[0]!['actions']).toEqual([]);
    expect([...permissions[0]!['dataActions']!].sort()).toEqual([...KEY_ROTATOR_DATA_ACTIONS].sort());
  });

  it('fail the rules for Contributor, an unknown role, no comment, a random name or subscription scope', () => {
    const bad = parseBicep(
      [
        "resource st 'Microsoft.Storage/storageAccounts@2023-05-01' existing = {",
        "  name: 'x'",
        '}',
        "resource a 'Microsoft.Authorization/roleAssignments@2022-04-01' = {",
        '  scope: st',
        "  name: guid(st.id, 'p', 'b24988ac-6180-42a0-ab88-20f7382dd24c')",
        '  properties: {',
        "    roleDefinitionId: subscriptionResourceId('Microsoft.Authorization/roleDefinitions', 'b24988ac-6180-42a0-ab88-20f7382dd24c')",
        "    principalId: 'p'",
        "    principalType: 'ServicePrincipal'",
        '  }',
        '}',
        '// Some role: because.',
        "resource b 'Microsoft.Authorization/roleAssignments@2022-04-01' = {",
        '  name: newGuid()',
        '  properties: {',
        "    roleDefinitionId: subscriptionResourceId('Microsoft.Authorization/roleDefinitions', '11111111-2222-3333-4444-555555555555')",
        "    principalId: 'p'",
        "    principalType: 'User'",
        '  }',
        '}',
      ].join('\n'),
      'bad.bicep',
    );
    const violations = checkRoleAssignments(bad).violations.join('\n');
    expect(violations).toMatch(/a: assigns Contributor/);
    expect(violations).toMatch(/a: role assignment has no comment/);
    expect(violations).toMatch(/b: assigns role 11111111-.*not a known built-in role/);
    expect(violations).toMatch(/b: name must be guid/);
    expect(violations).toMatch(/b: scope must be the specific resource/);
    expect(violations).toMatch(/b: principalType must be 'ServicePrincipal'/);
  });
});

describe('signed audit digests (issue 14)', () => {
  const digests = template('infra/modules/audit-digests.bicep');
  const account = body(digests, 'Microsoft.Storage/storageAccounts');
  const value = (b: ReturnType<typeof body>, path: string) => evaluate(prop(b, path), digests);

  it('keep the digests in their own storage account with version-level immutability and blob versioning', () => {
    expect(value(account, 'properties.immutableStorageWithVersioning.enabled')).toBe(true);
    expect(value(account, 'properties.allowSharedKeyAccess')).toBe(false);
    expect(value(body(digests, 'Microsoft.Storage/storageAccounts/blobServices'), 'properties.isVersioningEnabled')).toBe(true);
    const container = body(digests, 'Microsoft.Storage/storageAccounts/blobServices/containers');
    expect(value(container, 'properties.immutableStorageWithVersioning.enabled')).toBe(true);
    expect(value(container, 'name')).toBe(SETTINGS.digestContainer.default);
    const policy = body(digests, 'Microsoft.Storage/storageAccounts/blobServices/containers/immutabilityPolicies');
    expect(render(prop(policy, 'properties.immutabilityPeriodSinceCreationInDays'))).toBe('retentionDays');
    expect(value(policy, 'properties.allowProtectedAppendWrites')).toBe(false);
    // The retention is a parameter of the deployment, passed through from main.bicep.
    expect(find(main, 'param', 'digestRetentionDays')).toBeDefined();
  });

  it('sign with a non-exportable EC P-256 or RSA 3072 key that can only sign and verify', () => {
    const key = body(digests, 'Microsoft.KeyVault/vaults/keys');
    expect(value(key, 'properties.attributes.exportable')).toBe(false);
    expect(value(key, 'properties.keyOps')).toEqual(['sign', 'verify']);
    expect(render(prop(key, 'properties.kty'))).toBe("keyType == 'EC-P256' ? 'EC' : 'RSA'");
    expect(render(prop(key, 'properties.curveName'))).toContain("'P-256'");
    expect(render(prop(key, 'properties.keySize'))).toContain('3072');
    expect(value(body(digests, 'Microsoft.KeyVault/vaults'), 'properties.enableRbacAuthorization')).toBe(true);
    expect(value(body(digests, 'Microsoft.KeyVault/vaults'), 'properties.enablePurgeProtection')).toBe(true);
  });

  it('grant Rotor Key Vault Crypto User on the key only and Storage Blob Data Contributor on the container only', () => {
    const assignments = resourcesOfType(digests, 'Microsoft.Authorization/roleAssignments');
    const scopes = Object.fromEntries(
      assignments.map((a) => {
        const b = bodyOf(a.value).body;
        const role = evaluate((prop(b, 'properties.roleDefinitionId') as { args: Parameters<typeof evaluate>[0][] }).args[1], digests) as string;
        return [role, render(prop(b, 'scope'))];
      }),
    );
    expect(scopes).toEqual({ '12338af0-0e69-4776-bea7-57ae8d297424': 'digestKey', 'ba92f5b4-2d11-453d-a403-e96b0029c9fe': 'digestContainer' });
  });

  it('name the account and key the app settings point at', () => {
    const names = (file: BicepFile, name: string) => render(find(file, 'var', name)?.value);
    expect(names(app, 'digestStorageUri')).toContain('stdig${resourceToken}');
    expect(names(digests, 'digestAccountName')).toBe("'stdig${resourceToken}'");
    expect(names(app, 'digestKeyId')).toContain('kv-rotor-${resourceToken}');
    expect(names(app, 'digestKeyId')).toContain('/keys/rotor-audit-digest');
    expect(names(digests, 'vaultName')).toBe("'kv-rotor-${resourceToken}'");
    expect(names(digests, 'digestKeyName')).toBe("'rotor-audit-digest'");
    expect(evaluate(find(main, 'param', 'digestSchedule')?.value, main)).toBe(SETTINGS.digestSchedule.default);
  });
});

describe('no secrets', () => {
  it('in any template', () => {
    expect(templatePaths.flatMap((p) => checkNoSecrets(template(p)))).toEqual([]);
  });

  it('in the parameters files', () => {
    for (const path of ['infra/main.parameters.json', 'infra/rotor.parameters.example.json']) {
      const text = read(path);
      for (const pattern of SECRET_PATTERNS) expect(pattern.test(text), `${path}: ${pattern}`).toBe(false);
    }
  });

  it('fails on keys, listKeys() and secure defaults', () => {
    const bad = parseBicep(
      [
        "@secure()\nparam adminPassword string = 'P@ss'",
        "resource st 'Microsoft.Storage/storageAccounts@2023-05-01' existing = {\n  name: 'x'\n}",
        "var cs = 'DefaultEndpointsProtocol=https;AccountName=x;AccountKey=${st.listKeys().keys[0].value}'",
      ].join('\n'),
      'bad.bicep',
    );
    const violations = checkNoSecrets(bad).join('\n');
    expect(violations).toMatch(/secure parameter adminPassword has a default/);
    expect(violations).toMatch(/cs calls st\.listKeys\(\)/);
    expect(violations).toMatch(/cs contains literal credential text/);
  });
});

describe('parameters', () => {
  const declared = new Map(main.declarations.filter((d) => d.kind === 'param').map((d) => [d.name, d]));
  const sample = {
    AZURE_ENV_NAME: 'rotor-test',
    AZURE_LOCATION: 'swedencentral',
    ROTOR_VAULT_RESOURCE_IDS: '["/subscriptions/0/resourceGroups/rg/providers/Microsoft.KeyVault/vaults/kv1"]',
  };

  it('azd\'s main.parameters.json sets only declared parameters and every required one', () => {
    const parsed = JSON.parse(substituteAzdPlaceholders(read('infra/main.parameters.json'), sample)) as { parameters: Record<string, { value: unknown }> };
    for (const name of Object.keys(parsed.parameters)) expect(declared.has(name), name).toBe(true);
    for (const [name, d] of declared) if (!d.value) expect(parsed.parameters, name).toHaveProperty(name);
    expect(parsed.parameters['subscribeVaultEvents']?.value).toBe(false);
    expect(parsed.parameters['vaultResourceIds']?.value).toEqual(JSON.parse(sample.ROTOR_VAULT_RESOURCE_IDS));
    expect(parsed.parameters['rotorConfig']?.value).toEqual({});
  });

  it('the example parameters give a configuration Rotor accepts (vaults derived as main.bicep does)', () => {
    const example = JSON.parse(read('infra/rotor.parameters.example.json')) as { parameters: Record<string, { value: unknown }> };
    for (const name of Object.keys(example.parameters)) expect(declared.has(name), name).toBe(true);
    const ids = example.parameters['vaultResourceIds']!.value as string[];
    const vaults = ids.map((id) => ({ name: id.split('/')[8]!, url: `https://${id.split('/')[8]}.vault.azure.net/` }));
    const config = { ...(example.parameters['rotorConfig']!.value as object), vaults };
    expect(() => parseConfig(config)).not.toThrow();
    // Consumers come from the resource ids Rotor is made Reader of, in the shapes the configuration schema takes.
    const derived = find(main, 'var', 'derivedConsumers')?.value;
    expect(render(prop(derived, 'batch'))).toBe('map(batchAccountResourceIds, (id) => { accountId: id })');
    expect(render(prop(derived, 'hpcCache'))).toBe('map(hpcCacheResourceIds, (id) => { cacheId: id })');
    const batchIds = (example.parameters['batchAccountResourceIds']?.value ?? ['/subscriptions/0/resourceGroups/rg/providers/Microsoft.Batch/batchAccounts/b1']) as string[];
    const cacheIds = (example.parameters['hpcCacheResourceIds']?.value ?? ['/subscriptions/0/resourceGroups/rg/providers/Microsoft.StorageCache/caches/c1']) as string[];
    const withConsumers = { ...config, consumers: { batch: batchIds.map((accountId) => ({ accountId })), hpcCache: cacheIds.map((cacheId) => ({ cacheId })) } };
    expect(parseConfig(withConsumers).consumers.batch).toHaveLength(batchIds.length);
    expect(render(find(main, 'var', 'effectiveRotorConfig')?.value)).toContain('consumers: effectiveConsumers');
    expect(render(find(main, 'var', 'derivedVaults')?.value)).toMatch(/name: split\(id, '\/'\)\[8\], url: 'https:\/\/\$\{split\(id, '\/'\)\[8\]\}\$\{environment\(\)\.suffixes\.keyvaultDns\}\/'/);
  });
});

describe('azure.yaml', () => {
  const yaml = parseSimpleYaml(read('azure.yaml')) as {
    name?: string;
    infra?: { provider?: string; path?: string; module?: string };
    services?: Record<string, { project?: string; language?: string; host?: string; dist?: string; remoteBuild?: boolean; hooks?: Record<string, Record<string, { run?: string }>> }>;
    hooks?: Record<string, Record<string, { run?: string }>>;
  };

  it('describes one TypeScript function service deployed from the staged package', () => {
    expect(yaml.name).toBe('rotor');
    expect(yaml.infra).toEqual({ provider: 'bicep', path: 'infra', module: 'main' });
    expect(existsSync(join(root, yaml.infra!.path!, `${yaml.infra!.module!}.bicep`))).toBe(true);
    const services = Object.entries(yaml.services ?? {});
    expect(services).toHaveLength(1);
    const [name, service] = services[0]!;
    expect(service).toMatchObject({ project: '.', language: 'ts', host: 'function', dist: '.deploy', remoteBuild: false });
    // azd finds the app by its azd-service-name tag.
    expect(render(prop(body(app, 'Microsoft.Web/sites'), 'tags'))).toContain(`azd-service-name: '${name}'`);
  });

  it('runs hook scripts that exist', () => {
    const runs = [
      ...Object.values(yaml.services ?? {}).flatMap((s) => Object.values(s.hooks ?? {})),
      ...Object.values(yaml.hooks ?? {}),
    ].flatMap((hook) => Object.values(hook).map((platform) => platform.run ?? ''));
    expect(runs.length).toBeGreaterThanOrEqual(4);
    for (const run of runs) {
      const script = /infra\/scripts\/[\w.-]+/.exec(run)?.[0];
      expect(script, run).toBeDefined();
      expect(existsSync(join(root, script!)), script).toBe(true);
    }
  });
});

describe('package', () => {
  // tsconfig.build.json (rootDir ".") emits dist/src/functions/*.js: "main" must match it or the host loads nothing.
  it('package.json "main" points at the compiled functions', () => {
    const pkg = JSON.parse(read('package.json')) as { main: string };
    const pattern = new RegExp(`^${pkg.main.replace(/\./g, '\\.').replace(/\*/g, '[^/]*')}$`);
    for (const name of registrations.map((r) => r.name)) {
      const source = readdirSync(join(root, 'src/functions')).find((f) => read(`src/functions/${f}`).includes(`'${name}'`))!;
      expect(pattern.test(`dist/src/functions/${source.replace(/\.ts$/, '.js')}`), `${pkg.main} vs ${source}`).toBe(true);
    }
  });
});

describe('notifications and alerts', () => {
  const alerts = template('infra/modules/alerts.bicep');

  it('an Event Grid custom topic for Rotor\'s CloudEvents, local auth disabled, its endpoint in the app settings', () => {
    const topic = body(app, 'Microsoft.EventGrid/topics');
    expect(evaluate(prop(topic, 'properties.disableLocalAuth'), app)).toBe(true);
    expect(evaluate(prop(topic, 'properties.inputSchema'), app)).toBe('CloudEventSchemaV1_0');
    expect(render(prop(appSettingsOf(app).settings, SETTINGS.eventsTopicEndpoint.name))).toBe('eventsTopic.properties.endpoint');
  });

  it('Rotor\'s identity may send events to that topic only (EventGrid Data Sender on the topic)', () => {
    const assignment = resourcesOfType(app, 'Microsoft.Authorization/roleAssignments')
      .map((r) => bodyOf(r.value).body)
      .find((b) => render(prop(b, 'properties.roleDefinitionId')).includes('eventGridDataSender'));
    expect(assignment).toBeDefined();
    expect(render(prop(assignment, 'scope'))).toBe('eventsTopic');
    expect(checkRoleAssignments(app).roles).toContain('EventGrid Data Sender');
  });

  it('alert rules on Rotor\'s own metrics, by name, with an action group that emails the given address', async () => {
    const { METRIC_NAMES } = await import('../../src/app/metrics.js');
    const rules = evaluate(find(alerts, 'var', 'alerts')?.value, alerts) as Array<{ name: string; query: string; severity: number }>;
    expect(rules.map((r) => r.name).sort()).toEqual(['audit-write-failures', 'expired-objects', 'failed-rotations', 'poison-messages', 'stale-consumers']);
    const metricOf = (q: string) => /name == "([a-z_]+)"/.exec(q)?.[1];
    expect(rules.map((r) => metricOf(r.query)).sort()).toEqual(
      [METRIC_NAMES.auditWriteFailures, METRIC_NAMES.objectExpiry, METRIC_NAMES.rotations, METRIC_NAMES.poisonMessages, METRIC_NAMES.consumers].sort(),
    );
    expect(rules.find((r) => r.name === 'stale-consumers')!.query).toMatch(/"Stale", "UnknownCertificate", "Unreachable", "Misconfigured"/);
    expect(rules.find((r) => r.name === 'failed-rotations')!.query).toContain('outcome) == "Failed"');
    const rule = body(alerts, 'Microsoft.Insights/scheduledQueryRules');
    expect(render(prop(rule, 'properties.scopes'))).toContain('appInsightsId');
    expect(render(prop(rule, 'properties.actions.actionGroups'))).toContain('actionGroup.id');
    const group = body(alerts, 'Microsoft.Insights/actionGroups');
    expect(render(prop(group, 'properties.emailReceivers'))).toContain('alertEmailAddress');
    expect(find(main, 'param', 'alertEmailAddress')).toBeDefined();
    expect(render(prop(bodyOf(find(main, 'module', 'alerts')!.value).body, 'params.appInsightsId'))).toBe('app.outputs.appInsightsId');
  });
});
