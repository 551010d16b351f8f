import fs from 'node:fs';
import path from 'node:path';

/**
 * The supported Node versions are stated in five places: package.json's engines, the README, the
 * Node 24 that CI installs (scripts/node-runtime.sh), the Dockerfile's base images and .ci/run. A
 * version bump in one of them alone would have CI test one runtime and the image ship another.
 */
const ROOT = path.resolve(__dirname, '..', '..');
const read = (file: string) => fs.readFileSync(path.join(ROOT, file), 'utf8');

const script = read('scripts/node-runtime.sh');
const dockerfile = read('Dockerfile');
const readme = read('README.md');
const ciRun = read('.ci/run');
const pkg = JSON.parse(read('package.json')) as {
  engines: { node: string };
  devDependencies: Record<string, string>;
};

const pinned = /^NODE_VERSION="(\d+\.\d+\.\d+)"$/m.exec(script)?.[1];
const pinnedMajor = Number(pinned?.split('.')[0]);

/** `^20.19.0 || ^24.11.0` as [[20, 19], [24, 11]]: each supported line and its oldest minor. */
const engineLines = pkg.engines.node
  .split('||')
  .map((range) => /^\s*\^(\d+)\.(\d+)\.\d+\s*$/.exec(range))
  .map((m) => (m ? [Number(m[1]), Number(m[2])] : [NaN, NaN]));

describe('supported Node versions', () => {
  it('pins an exact Node version, with an integrity for each architecture it installs', () => {
    expect(pinned).toBeDefined();
    for (const arch of ['X64', 'ARM64'])
      expect(script).toMatch(new RegExp(`^INTEGRITY_LINUX_${arch}="sha512-[A-Za-z0-9+/]{86}=="$`, 'm'));
  });

  it('states in engines only lines of the form ^major.minor.patch, oldest first', () => {
    expect(engineLines.length).toBeGreaterThanOrEqual(2);
    for (const [major, minor] of engineLines) {
      expect(Number.isInteger(major)).toBe(true);
      expect(Number.isInteger(minor)).toBe(true);
    }
    const majors = engineLines.map(([major]) => major);
    expect(majors).toEqual([...majors].sort((a, b) => a! - b!));
  });

  it('installs for CI, and ships in the image, the newest supported line at a version engines accepts', () => {
    const [major, minor] = engineLines[engineLines.length - 1]!;
    expect(pinnedMajor).toBe(major);
    expect(Number(pinned!.split('.')[1])).toBeGreaterThanOrEqual(minor!);
  });

  it('builds and runs the image on the pinned Node', () => {
    const froms = dockerfile.match(/^FROM .+$/gm) ?? [];
    expect(froms.length).toBeGreaterThanOrEqual(2);
    for (const from of froms) expect(from).toMatch(new RegExp(`^FROM node:${pinned}-bookworm-slim\\b`));
  });

  it('runs the test suite again on the pinned Node in CI', () => {
    expect(ciRun).toContain('bash scripts/node-runtime.sh');
    expect(ciRun).toMatch(/npx jest --json --outputFile=/);
  });

  it('type-checks against the oldest supported line', () => {
    expect(Number(/^(\d+)\./.exec(pkg.devDependencies['@types/node']!)?.[1])).toBe(engineLines[0]![0]);
  });

  it('says in the README what engines says, and which Node CI and the image run', () => {
    const statement = /\*\*Supported Node versions: ([^*]+)\*\*/.exec(readme)?.[1];
    expect(statement).toBeDefined();
    const stated = [...statement!.matchAll(/(\d+)(?: LTS)? \(\1\.(\d+) or later\)/g)].map((m) => [
      Number(m[1]),
      Number(m[2]),
    ]);
    expect(stated).toEqual(engineLines);
    expect(readme).toContain(`on Node ${pinned}, which \`scripts/node-runtime.sh\` installs`);
    expect(readme).toContain(`\`node:${pinned}-bookworm-slim\``);
  });
});
