import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { runOpsWith, type OpsRun } from './support';

/** `catalog check` needs no Temporal: the CLI runs in-process with injected output and environment. */
const ops = (env: NodeJS.ProcessEnv, ...argv: string[]): Promise<OpsRun> => runOpsWith(env, argv);

const SAMPLE = path.resolve(__dirname, '..', '..', 'catalog', 'sample.yaml');

let dir: string;
beforeAll(() => (dir = mkdtempSync(path.join(tmpdir(), 'catalog-cli-'))));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

describe('ops catalog check', () => {
  it('prints what a valid catalog sells: products, courses, prices and provider ids', async () => {
    const run = await ops({}, 'catalog', 'check', SAMPLE);
    expect(run).toMatchObject({ code: 0, stderr: '' });
    expect(run.stdout).toContain(`Catalog ${SAMPLE} is valid: 3 products, 2 courses.`);
    const bundle = run.stdout.split('\n\n').find((block) => block.startsWith('bundle-data-career'));
    expect(bundle).toBeDefined();
    expect(bundle).toMatch(/^bundle-data-career {2}Data Career bundle$/m);
    expect(bundle).toMatch(/^ {2}course +course-ml-101 {2}Machine Learning 101 \(LMS ML-101/m);
    expect(bundle).toMatch(/^ {2}course +course-ds-301 {2}Data Science 301 \(LMS DS-301/m);
    expect(bundle).toMatch(/^ {2}prices +INR ₹17,999\.00, USD \$179\.00$/m);
    expect(bundle).toMatch(/^ {2}stripe prices +price_data_career_inr, price_data_career_usd$/m);
    expect(bundle).toMatch(/^ {2}stripe products +prod_data_career$/m);
    expect(bundle).toMatch(
      /^ {2}money back +full refund revoke, partial refund review, dispute suspend \(won restores, lost revokes\), subscription ended period end$/m,
    );
    const ml = run.stdout.split('\n\n').find((block) => block.startsWith('course-ml-101'));
    expect(ml).toMatch(/^ {2}prices +INR ₹4,999\.00, USD \$49\.00$/m);
    expect(ml).toMatch(/^ {2}razorpay plans +plan_ML101monthly$/m);
  });

  it('reads CATALOG_PATH when no file is named, else the sample', async () => {
    const file = path.join(dir, 'one.json');
    writeFileSync(
      file,
      JSON.stringify({
        version: 1,
        trust: { notesKeys: ['product_id'] },
        courses: [{ id: 'c1', title: 'Only course', lmsCourseId: 'L1', prices: { INR: 100 } }],
        products: [{ id: 'c1', courses: ['c1'] }],
      }),
    );
    const fromEnv = await ops({ CATALOG_PATH: file }, 'catalog', 'check');
    expect(fromEnv).toMatchObject({ code: 0, stderr: '' });
    expect(fromEnv.stdout).toContain(`Catalog ${file} is valid: 1 product, 1 course.`);

    const sample = await ops({}, 'catalog', 'check');
    expect(sample.code).toBe(0);
    expect(sample.stdout).toContain('Catalog catalog/sample.yaml is valid');
  });

  it('refuses an invalid file with every problem on stderr, one per line, and exit code 1', async () => {
    const file = path.join(dir, 'bad.yaml');
    writeFileSync(
      file,
      [
        'version: 1',
        'trust: { notesKeys: [product_id] }',
        'courses:',
        '  - { id: course-ml-101, title: ML, lmsCourseId: ML-101, prices: { inr: 499900 } }',
        'products:',
        '  - { id: bundle, courses: [course-ml-101, course-xx], prices: { INR: 100 } }',
      ].join('\n'),
    );
    const run = await ops({}, 'catalog', 'check', file);
    expect(run.code).toBe(1);
    expect(run.stdout).toBe('');
    expect(run.stderr).toBe(
      [
        `error: Invalid catalog ${file}:`,
        '  - courses[0] (course-ml-101): prices.inr: currency must be an upper-case ISO 4217 code',
        '  - products[0] (bundle): courses[1] "course-xx" is not a course in this catalog',
        '',
      ].join('\n'),
    );
  });

  it('refuses a file it cannot read, without a stack trace', async () => {
    const run = await ops({}, 'catalog', 'check', path.join(dir, 'missing.yaml'));
    expect(run.code).toBe(1);
    expect(run.stderr).toMatch(
      /^error: Invalid catalog .*missing\.yaml:\n {2}- cannot be read \(ENOENT\)\n$/,
    );
  });
});
