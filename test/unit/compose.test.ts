// docker-compose.yml (EventStoreDB 24.10 LTS and RabbitMQ) and its KurrentDB 25
// override, docker-compose.kurrentdb.yml, checked without Docker: parsed, merged
// as `docker compose -f docker-compose.yml -f docker-compose.kurrentdb.yml` does
// (for what these files use), and held against the options each server version
// knows (test/fixtures/esdbOptions/options.json, read from the server's
// ClusterVNodeOptions.cs; see extract.mjs there). An option the server does not
// know stops it at start (KurrentDB 25: "The option HttpPort is not a known option").
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import { parseDocument, type Tags } from 'yaml';

const root = fileURLToPath(new URL('../../', import.meta.url));
const read = (file: string) => readFileSync(join(root, file), 'utf8');

interface Options {
  readonly options: readonly string[];
  readonly deprecated: readonly string[];
}
const known = (JSON.parse(read('test/fixtures/esdbOptions/options.json')) as { versions: Record<string, Options> }).versions;
const v24 = known['v24.10.4']!;
const v25 = known['v25.0.0']!;

/** A value tagged `!override` (or `!reset`) in an override file: it replaces the base's instead of merging into it. */
class Replace {
  constructor(readonly value: unknown) {}
}
const replaceTags: Tags = ['!override', '!reset'].flatMap((tag) => [
  { tag, collection: 'map' as const, resolve: (map: unknown) => new Replace((map as { toJSON(): unknown }).toJSON()) },
  { tag, collection: 'seq' as const, resolve: (seq: unknown) => new Replace((seq as { toJSON(): unknown }).toJSON()) },
]);

/** A compose file parsed, refusing any YAML error or warning (an unknown tag, a duplicate key). */
const load = (file: string): Record<string, unknown> => {
  const doc = parseDocument(read(file), { customTags: replaceTags, uniqueKeys: true });
  assert.equal([...doc.errors, ...doc.warnings].map(String), [], `${file} parses cleanly`);
  return doc.toJS() as Record<string, unknown>;
};

const isMap = (v: unknown): v is Record<string, unknown> =>
  typeof v === 'object' && v !== null && !Array.isArray(v) && !(v instanceof Replace);

/**
 * Merges an override into a base as Compose does for these files: maps merge
 * key by key, `!override` replaces, sequences add what they do not have yet
 * (Compose merges ports and volumes by target; these files never repeat one).
 */
const merge = (base: unknown, over: unknown): unknown => {
  if (over instanceof Replace) return over.value;
  if (isMap(base) && isMap(over)) {
    const out: Record<string, unknown> = { ...base };
    for (const [k, v] of Object.entries(over)) out[k] = k in base ? merge(base[k], v) : v instanceof Replace ? v.value : v;
    return out;
  }
  if (Array.isArray(base) && Array.isArray(over)) return [...base, ...over.filter((v) => !base.includes(v))];
  return over;
};

interface Service {
  image: string;
  environment?: Record<string, string> | string[];
  command?: string | string[];
  volumes?: string[];
  healthcheck?: { test: string | string[] };
}
const services = (compose: unknown) => (compose as { services: Record<string, Service> }).services;

/** A service's environment as a map (Compose accepts a map or `KEY=value` lines). */
const envOf = (s: Service): Record<string, string> =>
  Array.isArray(s.environment)
    ? Object.fromEntries(s.environment.map((line) => [line.split('=')[0]!, line.slice(line.indexOf('=') + 1)]))
    : { ...(s.environment ?? {}) };

/** The server option an environment variable sets, as the server matches it: no prefix, no underscores, any case. */
const optionOf = (variable: string, prefixes: readonly string[]): string | undefined => {
  const prefix = prefixes.find((p) => variable.toUpperCase().startsWith(`${p}_`));
  return prefix === undefined
    ? undefined
    : variable
        .slice(prefix.length + 1)
        .replace(/_/g, '')
        .toLowerCase();
};
const lower = (names: readonly string[]) => new Set(names.map((n) => n.toLowerCase()));

/** The settings of the server service (`eventstore`), keyed by lower-case option name. */
const serverSettings = (s: Service, prefixes: readonly string[]) => {
  const settings = new Map<string, { variable: string; value: string }>();
  for (const [variable, value] of Object.entries(envOf(s))) {
    const option = optionOf(variable, prefixes);
    if (option !== undefined) settings.set(option, { variable, value: String(value) });
  }
  return settings;
};

const base = load('docker-compose.yml');
const kurrent = merge(base, load('docker-compose.kurrentdb.yml'));

const test = suite('docker-compose.yml and its KurrentDB 25 override');

test('the option fixture reads as the review found it: HttpPort deprecated in 24.10, gone in 25.0', () => {
  assert.ok(v24.options.includes('HttpPort') && v24.deprecated.includes('HttpPort'));
  assert.not.ok(v25.options.includes('HttpPort'));
  for (const o of ['RunProjections', 'StartStandardProjections', 'Insecure', 'ClusterSize', 'NodePort', 'Log', 'Db'])
    assert.ok(v24.options.includes(o) && v25.options.includes(o), o);
});

for (const [name, compose, version, prefixes] of [
  ['EventStoreDB 24.10 (docker-compose.yml)', base, v24, ['EVENTSTORE']],
  // KurrentDB reads KURRENTDB_ and, still, EVENTSTORE_.
  ['KurrentDB 25 (docker-compose.yml + docker-compose.kurrentdb.yml)', kurrent, v25, ['KURRENTDB', 'EVENTSTORE']],
] as const) {
  const server = services(compose).eventstore!;

  test(`${name}: every EVENTSTORE_/KURRENTDB_ variable is an option this version knows, and none is deprecated`, () => {
    const options = lower(version.options);
    const deprecated = lower(version.deprecated);
    const variables = Object.keys(envOf(server)).filter((v) => /^(EVENTSTORE|KURRENTDB)_/i.test(v));
    assert.ok(variables.length > 0);
    for (const variable of variables) {
      const option = optionOf(variable, prefixes);
      assert.ok(option !== undefined, `${variable}: this version does not read that prefix`);
      assert.ok(options.has(option), `${variable} is not an option of ${name}`);
      assert.not.ok(deprecated.has(option), `${variable} is deprecated in ${name}`);
    }
  });

  test(`${name}: no HttpPort in any form (variable or command-line argument)`, () => {
    for (const [service, s] of Object.entries(services(compose))) {
      for (const variable of Object.keys(envOf(s))) assert.not.match(variable.replace(/_/g, ''), /httpport/i, `${service}: ${variable}`);
      const command = [s.command ?? []].flat().join(' ');
      assert.not.match(command.replace(/[-_]/g, ''), /httpport/i, `${service}: ${command}`);
    }
  });

  test(`${name}: projections run, the standard ones are not started, no dev mode`, () => {
    const settings = serverSettings(server, prefixes);
    assert.is(settings.get('runprojections')?.value.toLowerCase(), 'all');
    assert.is.not(
      settings.get('startstandardprojections')?.value.toLowerCase(),
      'true',
      'StartStandardProjections would start $by_correlation_id and the rest',
    );
    assert.is.not(settings.get('dev')?.value.toLowerCase(), 'true', 'dev mode starts the standard projections');
    assert.is(settings.get('insecure')?.value.toLowerCase(), 'true', 'esdb://localhost:2113?tls=false needs an insecure node');
    assert.not.ok(settings.has('enableatompuboverhttp'), 'jobtrail needs no AtomPub');
  });

  test(`${name}: health-checked on /health/live; RabbitMQ health-checked too`, () => {
    assert.match([server.healthcheck?.test ?? []].flat().join(' '), 'http://localhost:2113/health/live');
    assert.ok(services(compose).rabbitmq?.healthcheck?.test, 'rabbitmq has a healthcheck (docker compose up --wait waits for it)');
  });
}

test('EventStoreDB 24.10: its image, data and log folders on named volumes, no KURRENTDB_ variable (24.10 ignores that prefix)', () => {
  const server = services(base).eventstore!;
  assert.is(server.image, 'eventstore/eventstore:24.10');
  const volumes = server.volumes ?? [];
  assert.ok(volumes.includes('eventstore-data:/var/lib/eventstore'), volumes.join(', '));
  assert.ok(
    volumes.includes('eventstore-logs:/var/log/eventstore'),
    'the image declares /var/log/eventstore a volume: named, not anonymous',
  );
  assert.equal(
    Object.keys(envOf(server)).filter((v) => /^KURRENTDB_/i.test(v)),
    [],
  );
  const declared = Object.keys((base as { volumes: Record<string, unknown> }).volumes);
  for (const v of volumes) assert.ok(declared.includes(v.split(':')[0]!), `volume ${v} is declared`);
});

test('KurrentDB 25: its image, its data at /var/lib/kurrentdb, nothing left of the 24.10 settings', () => {
  const server = services(kurrent).eventstore!;
  assert.match(server.image, /^docker\.kurrent\.io\/kurrent-(latest|lts)\/kurrentdb:25\./);
  assert.equal(server.volumes, ['kurrentdb-data:/var/lib/kurrentdb', 'kurrentdb-logs:/var/log/kurrentdb']);
  assert.equal(
    Object.keys(envOf(server)).filter((v) => !/^KURRENTDB_/.test(v)),
    [],
    'the override replaces the environment: only KURRENTDB_ variables',
  );
  const declared = Object.keys((kurrent as { volumes: Record<string, unknown> }).volumes);
  for (const v of server.volumes ?? []) assert.ok(declared.includes(v.split(':')[0]!), `volume ${v} is declared`);
  assert.equal(services(kurrent).rabbitmq, services(base).rabbitmq, 'RabbitMQ is the same');
});

test('the docs: every `docker compose` command names files that exist, and `up` waits for health', () => {
  const docs = ['README.md', 'docs/eventstoredb.md', 'docs/running.md'].filter((f) => existsSync(join(root, f)));
  const commands = docs.flatMap((doc) =>
    [...read(doc).matchAll(/docker compose[^\n`]*/g)].map((m) => ({ doc, command: m[0].replace(/\s+#.*$/, '').trim() })),
  );
  assert.ok(commands.length > 0);
  for (const { doc, command } of commands) {
    for (const [, file] of command.matchAll(/-f\s+(\S+)/g)) assert.ok(existsSync(join(root, file!)), `${doc}: ${command}: ${file} exists`);
    if (/\bup\b/.test(command)) assert.match(command, '--wait', `${doc}: ${command}`);
  }
  for (const file of ['docker-compose.yml', 'docker-compose.kurrentdb.yml'])
    assert.ok(
      docs.some((doc) => read(doc).includes(file)),
      `${file} is documented`,
    );
});

test.run();
