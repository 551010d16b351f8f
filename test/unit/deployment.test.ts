import fs from 'node:fs';
import path from 'node:path';
import { parse } from 'yaml';
import {
  clusterServices,
  DYNAMIC_CONFIG,
  SERVER_CONFIG,
  SETUP_NAMESPACE,
  SETUP_SCHEMA,
  temporalServiceOf,
} from '../../scripts/temporal/cluster';
import { NAMESPACE_RETENTION } from '../../scripts/temporal/dev-server';
import { configVariables } from '../../src/config';
import { V8_FLAGS } from '../../src/runtime/v8-flags';
import { searchAttributeRegistrations } from '../../src/workflows/messages';

/**
 * There is no Docker engine here, so the production stack is checked as a document: the services an
 * operator needs, pinned images, health checks, restart policies, non-root app containers, secrets
 * only from the env file, and environment variables that the config schema actually reads.
 */
const ROOT = path.resolve(__dirname, '..', '..');
const compose = parse(fs.readFileSync(path.join(ROOT, 'docker-compose.yml'), 'utf8'), { merge: true }) as {
  services: Record<string, Service>;
};
const dockerfile = fs.readFileSync(path.join(ROOT, 'Dockerfile'), 'utf8');
const envExample = fs.readFileSync(path.join(ROOT, '.env.example'), 'utf8');
const pkg = JSON.parse(fs.readFileSync(path.join(ROOT, 'package.json'), 'utf8')) as { version: string };
const vars = configVariables();

interface Service {
  image?: string;
  build?: unknown;
  restart?: string;
  user?: string;
  env_file?: string | string[];
  environment?: Record<string, unknown>;
  healthcheck?: { test: unknown };
  command?: string[];
  volumes?: string[];
}

const LONG_RUNNING = [
  'postgresql',
  'temporal-history-1',
  'temporal-history-2',
  'temporal-matching',
  'temporal-frontend',
  'temporal-worker',
  'temporal-ui',
  'webhook',
  'worker',
  'codec-server',
  'prometheus',
];
const APPS = { webhook: vars.webhook, worker: vars.worker } as const;
/** Variables a process reads outside the zod schema, kept explicit here (none: all are in src/config.ts). */
const EXTRA_APP_VARS: string[] = [];

/** The versions the cluster runner builds (scripts/temporal-engine.sh): the server and the Web UI server. */
const ENGINE_VERSION = /^require go\.temporal\.io\/server v(\S+)$/m.exec(
  fs.readFileSync(path.join(ROOT, 'ops', 'temporal-engine', 'go.mod'), 'utf8'),
)?.[1];
const UI_VERSION = /^require github\.com\/temporalio\/ui-server\/v2 v(\S+)$/m.exec(
  fs.readFileSync(path.join(ROOT, 'ops', 'temporal-ui', 'go.mod'), 'utf8'),
)?.[1];
const OPS_TEMPORAL = path.join(ROOT, 'ops', 'temporal');

const imageOf = (name: string) => compose.services[name]!.image!;
const tagOf = (name: string) => imageOf(name).split(':')[1];
const servicesOfImage = (repository: string) =>
  Object.keys(compose.services).filter((name) => imageOf(name).split(':')[0] === repository);
const SERVER_SERVICES = servicesOfImage('temporalio/server');

/** The file on this machine that a path inside a service's container is, through its bind mounts. */
function hostPath(service: string, inContainer: string): string | undefined {
  for (const volume of compose.services[service]!.volumes ?? []) {
    const [source, target] = volume.split(':') as [string, string];
    if (!source.startsWith('.')) continue;
    if (inContainer === target || inContainer.startsWith(`${target}/`))
      return path.join(ROOT, source, path.relative(target, inContainer));
  }
  return undefined;
}

describe('the production Temporal engine (scripts/temporal-engine.sh)', () => {
  it('is pinned to the server inside the pinned dev server, so both run the same server code', () => {
    const engine = ENGINE_VERSION;
    const devServer = /temporal CLI [\d.]+ = Server ([\d.]+)/.exec(
      fs.readFileSync(path.join(ROOT, 'scripts', 'temporal-binaries.sh'), 'utf8'),
    )?.[1];
    expect(engine).toBeDefined();
    expect(engine).toBe(devServer);
  });
});

describe('docker-compose.yml', () => {
  it('has the whole production stack', () => {
    expect(Object.keys(compose.services).sort()).toEqual(
      [
        'codec-server',
        'postgresql',
        'prometheus',
        'temporal-schema',
        'temporal-history-1',
        'temporal-history-2',
        'temporal-matching',
        'temporal-frontend',
        'temporal-worker',
        'temporal-namespace',
        'temporal-ui',
        'webhook',
        'worker',
      ].sort(),
    );
  });

  it.each(Object.keys(compose.services))('pins the image of %s to an exact version', (name) => {
    const image = compose.services[name]!.image!;
    expect(image).toMatch(/:v?[0-9]+\.[0-9]+(\.[0-9]+)?/);
    expect(image).not.toMatch(/:latest$/);
  });

  it('builds the app image at the package version', () => {
    for (const name of Object.keys(APPS)) {
      expect(compose.services[name]!.build).toBe('.');
      expect(compose.services[name]!.image).toBe(`enrollflow:${pkg.version}`);
    }
  });

  it.each(LONG_RUNNING)('gives %s a health check and a restart policy', (name) => {
    const service = compose.services[name]!;
    expect(service.healthcheck?.test).toBeDefined();
    expect(service.restart).toBe('unless-stopped');
  });

  it.each(Object.keys(APPS))('runs %s as non-root with secrets from the env file only', (name) => {
    const service = compose.services[name]!;
    expect(service.user).toBe('node');
    expect(service.env_file).toBe('.env');
    const literal = Object.keys(service.environment ?? {});
    const secrets = APPS[name as keyof typeof APPS].required;
    expect(literal.filter((v) => secrets.includes(v))).toEqual([]);
  });

  it.each(Object.entries(APPS))('sets only variables the %s config schema reads', (_name, schema) => {
    const service = compose.services[_name]!;
    const unknown = Object.keys(service.environment ?? {}).filter(
      (v) => !schema.all.includes(v) && !EXTRA_APP_VARS.includes(v),
    );
    expect(unknown).toEqual([]);
  });

  it('starts the webhook and worker entry points the build produces, with their V8 flags', () => {
    expect(compose.services.webhook!.command).toEqual(['node', ...V8_FLAGS.webhook, 'dist/webhook/main.js']);
    expect(compose.services.worker!.command).toEqual(['node', ...V8_FLAGS.worker, 'dist/worker.js']);
    expect(fs.existsSync(path.join(ROOT, 'src/webhook/main.ts'))).toBe(true);
    expect(fs.existsSync(path.join(ROOT, 'src/worker.ts'))).toBe(true);
  });

  it('sets a namespace retention that covers the default redelivery horizon', () => {
    const retention = String(compose.services['temporal-namespace']!.environment!.NAMESPACE_RETENTION);
    const hours = Number(/^(\d+)h$/.exec(retention)?.[1]);
    expect(hours).toBeGreaterThanOrEqual(360);
  });
});

/**
 * Compose runs what `npm run dev -- --engine cluster` (scripts/temporal/cluster.ts) runs: the same
 * versions, the same server and dynamic configuration, the same services and the same set-up scripts,
 * read here from their sources, never repeated.
 */
describe('docker-compose.yml and the cluster runner', () => {
  it('use no deprecated image (temporalio/auto-setup)', () => {
    for (const name of Object.keys(compose.services)) expect(imageOf(name)).not.toMatch(/auto-setup/);
  });

  it('run the server, admin tools and Web UI versions the runner builds', () => {
    expect(ENGINE_VERSION).toMatch(/^\d+\.\d+\.\d+$/);
    expect(UI_VERSION).toMatch(/^\d+\.\d+\.\d+$/);
    expect(SERVER_SERVICES.length).toBeGreaterThan(0);
    for (const name of SERVER_SERVICES) expect(tagOf(name)).toBe(ENGINE_VERSION);
    const admin = servicesOfImage('temporalio/admin-tools');
    expect(admin.sort()).toEqual(['temporal-namespace', 'temporal-schema']);
    for (const name of admin) expect(tagOf(name)).toBe(ENGINE_VERSION);
    expect(servicesOfImage('temporalio/ui')).toEqual(['temporal-ui']);
    expect(tagOf('temporal-ui')).toBe(UI_VERSION);
  });

  it('run one container per service the runner starts as a process', () => {
    const runner = clusterServices().map(temporalServiceOf).sort();
    expect(runner).toEqual(['frontend', 'history', 'history', 'matching', 'worker']);

    const inCompose = SERVER_SERVICES.map((name) =>
      String(compose.services[name]!.environment!.TEMPORAL_SERVICES),
    );
    expect(inCompose.sort()).toEqual(runner);
  });

  it.each(SERVER_SERVICES)('runs %s on the server and dynamic configuration the runner uses', (name) => {
    const env = compose.services[name]!.environment!;
    expect(path.dirname(SERVER_CONFIG)).toBe(OPS_TEMPORAL);
    expect(path.dirname(DYNAMIC_CONFIG)).toBe(OPS_TEMPORAL);
    expect(hostPath(name, String(env.TEMPORAL_SERVER_CONFIG_FILE_PATH))).toBe(SERVER_CONFIG);
    expect(hostPath(name, String(env.DYNAMIC_CONFIG_FILE_PATH))).toBe(DYNAMIC_CONFIG);
    expect(fs.existsSync(SERVER_CONFIG) && fs.existsSync(DYNAMIC_CONFIG)).toBe(true);
    expect(String(env.TEMPORAL_ALLOW_NO_AUTH)).toBe('true');
    // The config reads the runner's database variables.
    for (const v of ['POSTGRES_SEEDS', 'DB_PORT', 'POSTGRES_USER', 'POSTGRES_PWD'])
      expect(env[v]).toBeDefined();
  });

  it.each([
    ['temporal-schema', SETUP_SCHEMA],
    ['temporal-namespace', SETUP_NAMESPACE],
  ])('sets up with the runner script in %s (%s)', (name, script) => {
    expect(path.dirname(script)).toBe(OPS_TEMPORAL);
    const command = compose.services[name]!.command!;
    expect(command[0]).toBe('sh');
    expect(hostPath(name, command[1]!)).toBe(script);
    expect(command).toHaveLength(2);
  });

  it('sets up the namespace with the runner retention and every search attribute the workflows use', () => {
    expect(compose.services['temporal-namespace']!.environment!.NAMESPACE_RETENTION).toBe(
      NAMESPACE_RETENTION,
    );
    const script = fs.readFileSync(path.join(OPS_TEMPORAL, 'setup-namespace.sh'), 'utf8');
    const names = /^for name in ([A-Za-z ]+); do$/m.exec(script)?.[1]?.split(' ');
    expect(names).toEqual(Object.keys(searchAttributeRegistrations));
  });

  it('runs the PostgreSQL major the runner installs', () => {
    // scripts/temporal-engine.sh installs Debian's `postgresql` package: on bookworm, PostgreSQL 15.
    const major = /^postgres:(\d+)\.\d+-bookworm$/.exec(imageOf('postgresql'))?.[1];
    expect(major).toBe('15');
    // Where the runner's PostgreSQL is installed, the newest major there (the one it runs) too.
    const installed = fs.existsSync('/usr/lib/postgresql')
      ? fs
          .readdirSync('/usr/lib/postgresql')
          .filter((d) => /^\d+$/.test(d))
          .sort((a, b) => Number(a) - Number(b))
      : [];
    if (installed.length > 0) expect(major).toBe(installed.at(-1));
  });
});

describe('Prometheus', () => {
  const scrape = parse(fs.readFileSync(path.join(ROOT, 'ops/prometheus.yml'), 'utf8')) as {
    scrape_configs: Array<{ job_name: string; static_configs: Array<{ targets: string[] }> }>;
    rule_files: string[];
  };
  const rules = fs.readFileSync(path.join(ROOT, 'ops/alerts/enrollflow.rules.yml'), 'utf8');

  it('scrapes every job the alert rules name, at the ports the services listen on', () => {
    const jobs = scrape.scrape_configs.map((c) => c.job_name);
    const named = [...new Set([...rules.matchAll(/job="([a-z-]+)"/g)].map((m) => m[1]!))];
    expect(named.filter((j) => !jobs.includes(j))).toEqual([]);
    const targets = scrape.scrape_configs.flatMap((c) => c.static_configs.flatMap((s) => s.targets));
    expect(targets.sort()).toEqual(['webhook:3000', 'worker:9464', 'worker:9465']);
    expect(String(compose.services.worker!.environment!.WORKER_METRICS_PORT)).toBe('9464');
  });

  it('loads the alert rules from the mounted folder', () => {
    const mounts = JSON.stringify(compose.services.prometheus);
    expect(mounts).toContain('./ops/alerts:/etc/prometheus/rules:ro');
    expect(scrape.rule_files).toEqual(['/etc/prometheus/rules/*.rules.yml']);
  });
});

describe('Dockerfile', () => {
  it('is multi-stage on a glibc base, prebuilds the workflow bundle and runs as non-root', () => {
    const froms = dockerfile.match(/^FROM .+$/gm) ?? [];
    expect(froms.length).toBeGreaterThanOrEqual(2);
    for (const from of froms) expect(from).toMatch(/bookworm/);
    expect(dockerfile).toMatch(/bundle-workflows\.ts dist\/workflow-bundle\.js/);
    expect(dockerfile).toMatch(/WORKFLOW_BUNDLE_PATH=\/app\/dist\/workflow-bundle\.js/);
    expect(dockerfile).toMatch(/^USER node$/m);
    // The image's default command is the receiver's, as compose runs it.
    const cmd = /^CMD (\[.*\])$/m.exec(dockerfile)?.[1];
    expect(JSON.parse(cmd ?? '[]')).toEqual(compose.services.webhook!.command);
  });
});

describe('.env.example', () => {
  it('documents every variable the receiver, the worker and the codec server read', () => {
    const documented = new Set([...envExample.matchAll(/^([A-Z][A-Z0-9_]*)=/gm)].map((m) => m[1]));
    const all = [...new Set([...vars.webhook.all, ...vars.worker.all, ...vars.codecServer.all])];
    expect(all.filter((v) => !documented.has(v))).toEqual([]);
  });
});
