/**
 * The rules the infra test enforces, as functions returning violations (so the test can also show that each rule
 * fails on a bad template). They read templates through the Bicep reader in ./bicep.ts.
 */
import { SETTINGS, type SettingSpec } from '../../src/settings.js';
import { bodyOf, calls, declarations, evaluate, isParamRef, prop, render, stringLiterals, type BicepFile, type Expr } from './bicep.js';

/** Built-in roles Rotor may hold (GUIDs from the Azure built-in roles reference; identical in every subscription). */
export const KNOWN_ROLES: Readonly<Record<string, string>> = {
  'a4417e6f-fecd-4de8-b567-7b0420556985': 'Key Vault Certificates Officer',
  '14b46e9e-c2b7-41b4-b07b-48a6ebf60603': 'Key Vault Crypto Officer',
  'b86a8fe4-44ce-4948-aee5-eccb2c155cd7': 'Key Vault Secrets Officer',
  'b7e6dc6d-f1e8-4753-8033-0f276bb0955b': 'Storage Blob Data Owner',
  '974c5e8b-45b9-4653-ba55-5f855dd0fb88': 'Storage Queue Data Contributor',
  '0a9a7e1f-b9d0-4cc4-a60d-0319b160aaa3': 'Storage Table Data Contributor',
  '3913510d-42f4-4e42-8a64-420c390055eb': 'Monitoring Metrics Publisher',
  'acdd72a7-3385-48ef-bd42-f606fba81ae7': 'Reader',
  'ba92f5b4-2d11-453d-a403-e96b0029c9fe': 'Storage Blob Data Contributor',
  '12338af0-0e69-4776-bea7-57ae8d297424': 'Key Vault Crypto User',
  'd5a91429-5739-47e2-a06b-3470a27159e7': 'EventGrid Data Sender',
};

/** Roles Rotor must never hold: broad management or access-granting rights. */
export const FORBIDDEN_ROLES: Readonly<Record<string, string>> = {
  '8e3af657-a8ff-443c-a75c-2fe8c4bcb635': 'Owner',
  'b24988ac-6180-42a0-ab88-20f7382dd24c': 'Contributor',
  '18d7d88d-d35e-4fb5-a5c3-7773c20a72d9': 'User Access Administrator',
  'f25e0fa2-a7c8-4377-a976-54943a77a395': 'Key Vault Contributor',
  '00482a5a-887f-4fb3-b363-3b7fe8e74483': 'Key Vault Administrator',
  '17d1049b-9a84-46fb-8f53-869881c3d3ab': 'Storage Account Contributor',
};

/** The custom role parameter a role assignment may use instead of a built-in role (Rotor Key Rotator). */
export const CUSTOM_ROLE_PARAMS: Readonly<Record<string, string>> = { customKeyRoleGuid: 'Rotor Key Rotator' };

/** Data actions the Rotor Key Rotator custom role may grant. */
export const KEY_ROTATOR_DATA_ACTIONS = [
  'Microsoft.KeyVault/vaults/keys/read',
  'Microsoft.KeyVault/vaults/keys/create/action',
  'Microsoft.KeyVault/vaults/keys/rotate/action',
  'Microsoft.KeyVault/vaults/keys/update/action',
  'Microsoft.KeyVault/vaults/keyrotationpolicies/read',
  'Microsoft.KeyVault/vaults/keyrotationpolicies/write',
];

/** Settings the Functions platform reads (not Rotor's code): allowed in the Bicep without a SETTINGS entry. */
export const PLATFORM_SETTINGS: Readonly<Record<string, string>> = {
  AzureWebJobsStorage__accountName: 'host storage (identity-based)',
  AzureWebJobsStorage__credential: 'host storage (identity-based)',
  AzureWebJobsStorage__clientId: 'host storage (identity-based)',
};

/** App settings Flex Consumption deprecates or rejects (functionAppConfig replaces them). */
export const FLEX_DEPRECATED_SETTINGS = [
  'FUNCTIONS_WORKER_RUNTIME',
  'FUNCTIONS_EXTENSION_VERSION',
  'WEBSITE_NODE_DEFAULT_VERSION',
  'WEBSITE_RUN_FROM_PACKAGE',
  'WEBSITE_CONTENTSHARE',
  'WEBSITE_CONTENTAZUREFILECONNECTIONSTRING',
  'WEBSITE_MOUNT_ENABLED',
  'WEBSITE_MAX_DYNAMIC_APPLICATION_SCALE_OUT',
  'WEBSITE_TIME_ZONE',
  'TZ',
  'SCM_DO_BUILD_DURING_DEPLOYMENT',
  'ENABLE_ORYX_BUILD',
  'AzureWebJobsStorage',
];

/** Text that is (part of) a credential and must never appear literally in a template or parameters file. */
export const SECRET_PATTERNS: RegExp[] = [
  /AccountKey=/i,
  /SharedAccessSignature=|SharedAccessKey=/i,
  /[?&]sig=[A-Za-z0-9%]/,
  /InstrumentationKey=[0-9a-f-]{36}/i,
  /password\s*[=:]\s*\S/i,
  /client_?secret/i,
  /-----BEGIN [A-Z ]*PRIVATE KEY-----/,
];

const KEY_VAULT_REFERENCE = /^@Microsoft\.KeyVault\((SecretUri=|VaultName=)/;
const SECRET_LIKE_NAME = /(PASSWORD|SECRET|TOKEN|PRIVATE_?KEY|API_?KEY|ACCESS_?KEY)$/i;

const allSettings = (): SettingSpec[] => Object.values(SETTINGS);

/** The app settings object literal a site's siteConfig.appSettings is built from (`[for s in items(x): ...]`). */
export function appSettingsOf(file: BicepFile): { settings?: Extract<Expr, { kind: 'object' }>; problems: string[] } {
  const problems: string[] = [];
  const sites = declarations(file, 'resource').filter((d) => d.type?.startsWith('Microsoft.Web/sites@'));
  if (sites.length !== 1) return { problems: [`expected one Microsoft.Web/sites resource, found ${sites.length}`] };
  const list = prop(bodyOf(sites[0]!.value).body, 'properties.siteConfig.appSettings');
  const source = list?.kind === 'for' && list.source.kind === 'call' && render(list.source.callee) === 'items' ? list.source.args[0] : undefined;
  const variable = source?.kind === 'ident' ? declarations(file, 'var').find((d) => d.name === source.name) : undefined;
  if (!variable || variable.value?.kind !== 'object') {
    problems.push(`siteConfig.appSettings must be [for s in items(<var>): { name: s.key, value: s.value }] over an object var (found ${render(list)})`);
    return { problems };
  }
  return { settings: variable.value, problems };
}

/** App settings against src/settings.ts (and any settings the functions' bindings reference). */
export function checkAppSettings(settings: Extract<Expr, { kind: 'object' }>, file: BicepFile, bindingSettings: readonly string[] = []): string[] {
  const violations: string[] = [];
  const specs = allSettings();
  const byName = new Map(specs.map((s) => [s.name, s]));
  const defined = new Map(settings.properties.map((p) => [p.key, p.value]));
  for (const spec of specs) {
    if (spec.requiredInAzure && !defined.has(spec.name)) violations.push(`${spec.name} is required in Azure (src/settings.ts) but the Bicep does not set it`);
    if (spec.localOnly && defined.has(spec.name)) violations.push(`${spec.name} is local-only and must never be set in Azure`);
  }
  for (const [name, value] of defined) {
    const spec = byName.get(name);
    if (!spec && !PLATFORM_SETTINGS[name]) {
      violations.push(`${name} is not a setting Rotor reads (src/settings.ts) nor a known platform setting`);
    }
    if (FLEX_DEPRECATED_SETTINGS.some((d) => d.toLowerCase() === name.toLowerCase())) violations.push(`${name} is deprecated on Flex Consumption`);
    const literal = evaluate(value, file);
    const isKeyVaultReference = typeof literal === 'string' ? KEY_VAULT_REFERENCE.test(literal) : value.kind === 'string' && typeof value.parts[0] === 'string' && KEY_VAULT_REFERENCE.test(value.parts[0]);
    if ((spec?.secret || SECRET_LIKE_NAME.test(name)) && !isKeyVaultReference) {
      violations.push(`${name} holds a secret: its value must be a Key Vault reference (@Microsoft.KeyVault(SecretUri=...)), not ${render(value)}`);
    }
    for (const text of stringLiterals(value)) {
      for (const pattern of SECRET_PATTERNS) if (pattern.test(text)) violations.push(`${name} contains literal credential text (${pattern})`);
    }
    if (/__credential$/.test(name) && literal !== 'managedidentity') violations.push(`${name} must be 'managedidentity' (identity-based connection)`);
    if (/__clientId$|^AZURE_CLIENT_ID$/.test(name) && !render(value).endsWith('.properties.clientId')) {
      violations.push(`${name} must be the user-assigned identity's client id (…properties.clientId), not ${render(value)}`);
    }
  }
  for (const binding of bindingSettings) {
    // `connection: 'X'` needs X (a connection string) or the identity-based X__* settings; `%X%` needs X.
    const ok = defined.has(binding) || [...defined.keys()].some((k) => k.startsWith(`${binding}__`));
    if (!ok) violations.push(`the functions' bindings use ${binding} but the Bicep does not set it`);
    if (!byName.has(binding)) violations.push(`the functions' bindings use ${binding}, which src/settings.ts does not declare`);
  }
  return violations;
}

/** Role assignments: known built-in (or the custom key role), never broad roles, commented, deterministic, scoped. */
export function checkRoleAssignments(file: BicepFile): { violations: string[]; roles: string[] } {
  const violations: string[] = [];
  const roles: string[] = [];
  const resources = declarations(file, 'resource');
  for (const d of resources.filter((r) => r.type?.toLowerCase().startsWith('microsoft.authorization/roleassignments@'))) {
    const where = `${file.path}: ${d.name}`;
    const { body } = bodyOf(d.value);
    const definition = prop(body, 'properties.roleDefinitionId');
    let roleName: string | undefined;
    let roleValue: unknown;
    if (definition?.kind === 'call' && render(definition.callee) === 'subscriptionResourceId' && definition.args.length === 2) {
      if (evaluate(definition.args[0], file) !== 'Microsoft.Authorization/roleDefinitions') violations.push(`${where}: roleDefinitionId is not a role definition id`);
      const role = evaluate(definition.args[1], file);
      roleValue = role;
      if (typeof role === 'string') {
        const id = role.toLowerCase();
        if (FORBIDDEN_ROLES[id]) violations.push(`${where}: assigns ${FORBIDDEN_ROLES[id]}, which Rotor must never hold`);
        else if (!KNOWN_ROLES[id]) violations.push(`${where}: assigns role ${role}, which is not a known built-in role`);
        roleName = KNOWN_ROLES[id] ?? FORBIDDEN_ROLES[id];
      } else if (isParamRef(role) && CUSTOM_ROLE_PARAMS[role.param]) {
        roleName = CUSTOM_ROLE_PARAMS[role.param];
      } else {
        violations.push(`${where}: role ${render(definition.args[1])} is neither a known built-in role id nor the custom key role`);
      }
    } else {
      violations.push(`${where}: roleDefinitionId must be subscriptionResourceId('Microsoft.Authorization/roleDefinitions', <built-in role GUID>), not ${render(definition)}`);
    }
    if (roleName) roles.push(roleName);
    const comment = d.comments.join(' ');
    if (!comment.trim()) violations.push(`${where}: role assignment has no comment saying why Rotor needs it`);
    else if (roleName && !comment.includes(roleName)) violations.push(`${where}: the comment does not name the role it explains (${roleName})`);
    const name = prop(body, 'name');
    const nameArgs = name?.kind === 'call' && render(name.callee) === 'guid' ? name.args : undefined;
    if (!nameArgs || nameArgs.length < 3) violations.push(`${where}: name must be guid(<scope id>, <principal>, <role>) (deterministic), not ${render(name)}`);
    else if (roleValue !== undefined && !nameArgs.some((a) => JSON.stringify(evaluate(a, file)) === JSON.stringify(roleValue))) {
      violations.push(`${where}: the guid() name does not include the role, so two roles on one scope would collide`);
    }
    const scope = prop(body, 'scope');
    const scoped = scope?.kind === 'ident' && resources.some((r) => r.name === scope.name);
    if (!scoped) violations.push(`${where}: scope must be the specific resource (a resource symbol), not ${render(scope) || 'the deployment scope'}`);
    if (evaluate(prop(body, 'properties.principalType'), file) !== 'ServicePrincipal') violations.push(`${where}: principalType must be 'ServicePrincipal'`);
  }
  return { violations, roles };
}

/** Credentials, keys and key-based access anywhere in a template. */
export function checkNoSecrets(file: BicepFile): string[] {
  const violations: string[] = [];
  for (const d of file.declarations) {
    for (const text of stringLiterals(d.value)) {
      for (const pattern of SECRET_PATTERNS) if (pattern.test(text)) violations.push(`${file.path}: ${d.name} contains literal credential text (${pattern})`);
    }
    for (const call of calls(d.value)) {
      const callee = render(call.callee);
      if (/(^|\.)list(Keys|AccountSas|ServiceSas|ConnectionStrings)$/i.test(callee) || /(^|\.)listKeys?$/i.test(callee)) {
        violations.push(`${file.path}: ${d.name} calls ${callee}(): key-based access is not allowed`);
      }
    }
    if (d.kind === 'param' && d.decorators.some((x) => x.name === 'secure') && d.value) violations.push(`${file.path}: secure parameter ${d.name} has a default value`);
    if (d.kind === 'output' && /secret|password|key$/i.test(d.name)) violations.push(`${file.path}: output ${d.name} looks like a secret`);
  }
  return violations;
}

/** Text of a parameters file, with azd's ${VAR} and ${VAR=default} placeholders replaced by sample values. */
export function substituteAzdPlaceholders(text: string, samples: Readonly<Record<string, string>>): string {
  return text.replace(/\$\{([A-Z0-9_]+)(?:=([^}]*))?\}/g, (_, name: string, fallback: string | undefined) => samples[name] ?? fallback ?? '');
}

/** A YAML subset (block mappings, scalars, comments) — enough for azure.yaml. */
export function parseSimpleYaml(text: string): Record<string, unknown> {
  const root: Record<string, unknown> = {};
  const stack: Array<{ indent: number; node: Record<string, unknown> }> = [{ indent: -1, node: root }];
  text.split(/\r?\n/).forEach((raw, i) => {
    const line = raw.replace(/\s+#.*$/, '').replace(/^#.*$/, '');
    if (!line.trim()) return;
    const indent = line.length - line.trimStart().length;
    const match = /^([A-Za-z0-9_.-]+):(?:\s+(.*))?$/.exec(line.trim());
    if (!match) throw new Error(`azure.yaml:${i + 1}: not a "key: value" line: ${raw}`);
    while (stack.length > 1 && stack[stack.length - 1]!.indent >= indent) stack.pop();
    const parent = stack[stack.length - 1]!.node;
    const key = match[1]!;
    const value = match[2]?.trim();
    if (value === undefined || value === '') {
      const child: Record<string, unknown> = {};
      parent[key] = child;
      stack.push({ indent, node: child });
    } else {
      const unquoted = /^'(.*)'$|^"(.*)"$/.exec(value);
      parent[key] = unquoted ? (unquoted[1] ?? unquoted[2]) : value === 'true' ? true : value === 'false' ? false : /^-?\d+$/.test(value) ? Number(value) : value;
    }
  });
  return root;
}
