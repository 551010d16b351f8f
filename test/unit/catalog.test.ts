import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { CatalogError, catalogFormatOf, loadCatalog, parseCatalog } from '../../src/catalog';

const SAMPLE = path.resolve(__dirname, '..', '..', 'catalog', 'sample.yaml');

/** A small valid catalog as a plain object, for tests to break one rule at a time. */
function base(): any {
  return {
    version: 1,
    trust: { notesKeys: ['product_id'], buyerSources: [] },
    courses: [
      { id: 'course-ml-101', title: 'Machine Learning 101', lmsCourseId: 'ML-101', prices: { INR: 499900 } },
      { id: 'course-ds-301', title: 'Data Science 301', lmsCourseId: 'DS-301', prices: { INR: 1499900 } },
    ],
    products: [
      { id: 'course-ml-101', courses: ['course-ml-101'], stripe: { priceIds: ['price_ml'] } },
      { id: 'course-ds-301', courses: ['course-ds-301'], stripe: { priceIds: ['price_ds'] } },
      {
        id: 'bundle-data-career',
        title: 'Data Career bundle',
        courses: ['course-ml-101', 'course-ds-301'],
        prices: { INR: 1799900 },
      },
    ],
  };
}

/** The problems a catalog is refused for, one per line, without the header. */
function problemsOf(value: unknown): string[] {
  try {
    parseCatalog(JSON.stringify(value), 'json', 'test.json');
  } catch (err) {
    expect(err).toBeInstanceOf(CatalogError);
    const [header, ...lines] = (err as CatalogError).message.split('\n');
    expect(header).toBe('Invalid catalog test.json:');
    return lines.map((l) => l.replace(/^ {2}- /, ''));
  }
  throw new Error('the catalog was accepted');
}

describe('the sample catalog', () => {
  const catalog = loadCatalog(SAMPLE);

  it('sells the two courses alone and as the bundle, at the documented prices', () => {
    expect(catalog.courseById.get('course-ml-101')?.prices).toEqual({ INR: 499900, USD: 4900 });
    expect(catalog.courseById.get('course-ds-301')).toMatchObject({
      title: 'Data Science 301',
      prices: { INR: 1499900, USD: 14900 },
    });
    const bundle = catalog.productById.get('bundle-data-career')!;
    expect(bundle.courses.map((c) => c.id)).toEqual(['course-ml-101', 'course-ds-301']);
    expect(bundle.prices).toEqual({ INR: 1799900, USD: 17900 });
  });

  it('gives every product the safe access policy unless it says otherwise', () => {
    for (const product of catalog.products) {
      expect(product.access).toEqual({
        partialRefund: 'review',
        disputeOpened: 'suspend',
        subscriptionEnded: 'period_end',
      });
    }
  });

  it('gives a single-course product its course title and prices when it has none of its own', () => {
    const ml = catalog.productById.get('course-ml-101')!;
    expect(ml.title).toBe('Machine Learning 101');
    expect(ml.prices).toEqual({ INR: 499900, USD: 4900 });
  });

  it('finds products by every provider id it lists', () => {
    expect(catalog.productByStripePriceId.get('price_ml101_inr')?.id).toBe('course-ml-101');
    expect(catalog.productByStripePriceId.get('price_ml101_usd')?.id).toBe('course-ml-101');
    expect(catalog.productByStripeProductId.get('prod_ds301')?.id).toBe('course-ds-301');
    expect(catalog.productByStripeProductId.get('prod_data_career')?.id).toBe('bundle-data-career');
    expect(catalog.productByRazorpayPlanId.get('plan_ML101monthly')?.id).toBe('course-ml-101');
    expect([...catalog.productByRazorpayPlanId.values()].map((p) => p.id)).toContain('bundle-data-career');
    expect(catalog.productByCourseId.get('course-ds-301')?.id).toBe('course-ds-301');
    expect(catalog.productByStripePriceId.get('price_unknown')).toBeUndefined();
  });

  it('trusts notes under product_id and no buyer-set source', () => {
    expect(catalog.trust).toEqual({ notesKeys: ['product_id'], buyerSources: [] });
  });
});

describe('file formats', () => {
  let dir: string;
  beforeAll(() => (dir = mkdtempSync(path.join(tmpdir(), 'catalog-'))));
  afterAll(() => rmSync(dir, { recursive: true, force: true }));

  it('reads .json as JSON and .yml as YAML', () => {
    const json = path.join(dir, 'c.json');
    writeFileSync(json, JSON.stringify(base()));
    expect(loadCatalog(json).products.map((p) => p.id)).toEqual([
      'course-ml-101',
      'course-ds-301',
      'bundle-data-career',
    ]);
    const yml = path.join(dir, 'c.yml');
    writeFileSync(yml, JSON.stringify(base())); // JSON is YAML too
    expect(loadCatalog(yml).courses).toHaveLength(2);
    expect(catalogFormatOf('x.YAML')).toBe('yaml');
    expect(catalogFormatOf('x.toml')).toBeUndefined();
  });

  it('refuses another extension, a missing file and broken syntax, naming the file', () => {
    expect(() => loadCatalog(path.join(dir, 'c.toml'))).toThrow(
      `Invalid catalog ${path.join(dir, 'c.toml')}:\n  - the file name must end in .yaml, .yml or .json`,
    );
    expect(() => loadCatalog(path.join(dir, 'missing.yaml'))).toThrow(
      /^Invalid catalog .*missing\.yaml:\n.*ENOENT/,
    );
    expect(() => parseCatalog('courses: [', 'yaml', 'bad.yaml')).toThrow(
      /^Invalid catalog bad\.yaml:\n {2}- not valid YAML: .*line 1/,
    );
    expect(() => parseCatalog('{', 'json', 'bad.json')).toThrow(
      /^Invalid catalog bad\.json:\n {2}- not valid JSON/,
    );
    expect(() => parseCatalog('', 'yaml', 'empty.yaml')).toThrow(
      'Invalid catalog empty.yaml:\n  - (catalog): must be a mapping with version, trust, courses and products',
    );
  });

  it('refuses duplicate keys in YAML rather than keeping the last', () => {
    const text = 'version: 1\nversion: 1\ntrust: { notesKeys: [product_id] }\ncourses: []\nproducts: []\n';
    expect(() => parseCatalog(text, 'yaml', 'dup.yaml')).toThrow(/not valid YAML: Map keys must be unique/);
  });
});

describe('validation names the entry and the rule', () => {
  it('accepts the base catalog (so each test below fails for its own reason)', () => {
    expect(parseCatalog(JSON.stringify(base()), 'json', 'ok.json').products).toHaveLength(3);
  });

  it('a product naming a course that does not exist', () => {
    const c = base();
    c.products[2].courses[1] = 'course-xx';
    expect(problemsOf(c)).toEqual([
      'products[2] (bundle-data-career): courses[1] "course-xx" is not a course in this catalog',
    ]);
  });

  it('a currency that is not an upper-case ISO 4217 code, and prices that are not positive integers', () => {
    const c = base();
    c.courses[0].prices = { inr: 499900, USD: 0, EUR: 10.5, XYZ: 100 };
    expect(problemsOf(c)).toEqual([
      'courses[0] (course-ml-101): prices.inr: currency must be an upper-case ISO 4217 code',
      'courses[0] (course-ml-101): prices.USD: must be positive',
      'courses[0] (course-ml-101): prices.EUR: must be a whole number of minor units',
      'courses[0] (course-ml-101): prices.XYZ: currency must be an upper-case ISO 4217 code',
    ]);
  });

  it('duplicate course and product ids', () => {
    const c = base();
    c.courses.push({ ...c.courses[0] });
    c.products.push({ id: 'course-ds-301', courses: ['course-ds-301'] });
    expect(problemsOf(c)).toEqual([
      'courses[2] (course-ml-101): id "course-ml-101" is already used by courses[0]',
      'products[3] (course-ds-301): id "course-ds-301" is already used by products[1]',
    ]);
  });

  it('a bundle without prices', () => {
    const c = base();
    delete c.products[2].prices;
    expect(problemsOf(c)).toEqual([
      'products[2] (bundle-data-career): a bundle (more than one course) needs its own prices',
    ]);
  });

  it('a provider id that maps to two products', () => {
    const c = base();
    c.products[2].stripe = { priceIds: ['price_bundle', 'price_ml'] };
    c.products[0].razorpay = { subscriptionPlanIds: ['plan_A'] };
    c.products[1].razorpay = { subscriptionPlanIds: ['plan_A'] };
    expect(problemsOf(c)).toEqual([
      'products[1] (course-ds-301): razorpay.subscriptionPlanIds[0] "plan_A" already belongs to products[0] (course-ml-101)',
      'products[2] (bundle-data-career): stripe.priceIds[1] "price_ml" already belongs to products[0] (course-ml-101)',
    ]);
  });

  it('provider ids of the wrong kind', () => {
    const c = base();
    c.products[0].stripe = { priceIds: ['prod_ml101'], productIds: ['price_x'] };
    c.products[1].razorpay = { paymentLinkIds: ['plan_x'] };
    expect(problemsOf(c)).toEqual([
      'products[0] (course-ml-101): stripe.priceIds[0]: Stripe price ids start with price_',
      'products[0] (course-ml-101): stripe.productIds[0]: Stripe product ids start with prod_',
      'products[1] (course-ds-301): razorpay.paymentLinkIds[0]: Razorpay payment link ids start with plink_',
    ]);
  });

  it('an access policy with a value it does not know, or a misspelt field', () => {
    const c = base();
    c.products[0].access = { partialRefund: 'refund', disputeOpened: 'revoke' };
    c.products[1].access = { subscriptionEnd: 'immediately' };
    expect(problemsOf(c)).toEqual([
      'products[0] (course-ml-101): access.partialRefund: must be review, keep or revoke',
      'products[0] (course-ml-101): access.disputeOpened: must be suspend or keep',
      'products[1] (course-ds-301): access: unknown field "subscriptionEnd"',
    ]);
    const ok = base();
    ok.products[2].access = {
      partialRefund: 'keep',
      subscriptionEnded: 'immediately',
      accessEndedTemplate: 'access_ended',
    };
    expect(
      parseCatalog(JSON.stringify(ok), 'json', 'ok.json').productById.get('bundle-data-career')!.access,
    ).toEqual({
      partialRefund: 'keep',
      disputeOpened: 'suspend',
      subscriptionEnded: 'immediately',
      accessEndedTemplate: 'access_ended',
    });
  });

  it('trust: notesKeys empty, buyerSources with a merchant-set or unknown source', () => {
    const c = base();
    c.trust = { notesKeys: [], buyerSources: ['razorpay.payment_notes', 'razorpay.order_notes', 'browser'] };
    const problems = problemsOf(c);
    expect(problems).toHaveLength(3);
    expect(problems[0]).toBe('trust.notesKeys: must name at least one key (e.g. [product_id])');
    expect(problems[1]).toMatch(/^trust\.buyerSources\[1\]: "razorpay\.order_notes" is merchant-set/);
    expect(problems[2]).toMatch(/^trust\.buyerSources\[2\]: "browser" is not a claim source/);
  });

  it('a product id that is another course id', () => {
    const c = base();
    c.products[2].id = 'course-ds-301';
    expect(problemsOf(c)).toEqual([
      'products[2] (course-ds-301): id "course-ds-301" is already used by products[1]',
      'products[2] (course-ds-301): id "course-ds-301" is also a course id, but this product does not grant just that course',
    ]);
  });

  it('misspelt and missing fields, and the wrong version', () => {
    const c = base();
    c.version = 2;
    c.courses[1].welcomeTemplat = 'x';
    delete c.courses[1].lmsCourseId;
    expect(problemsOf(c)).toEqual([
      'version: must be 1',
      'courses[1] (course-ds-301): lmsCourseId: is required',
      'courses[1] (course-ds-301): unknown field "welcomeTemplat"',
    ]);
  });

  it('lists every problem at once, including the cross-entry rules of an entry with a bad field', () => {
    const c = base();
    c.courses[0].prices = { INR: -1 };
    c.products[2].courses = ['course-ml-101', 'course-zz'];
    c.products[2].prices = { INR: 'free' };
    const problems = problemsOf(c);
    expect(problems).toEqual([
      'courses[0] (course-ml-101): prices.INR: must be positive',
      expect.stringMatching(
        /^products\[2\] \(bundle-data-career\): prices\.INR: must be a price in minor units/,
      ),
      'products[2] (bundle-data-career): courses[1] "course-zz" is not a course in this catalog',
    ]);
  });
});
