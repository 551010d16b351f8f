/**
 * What a valid catalog file is: the shape of each entry (zod) and the rules between entries (unique
 * ids, courses that exist, provider ids that name one product). Entries are checked one by one, not
 * as one zod object: zod skips whole-object refinements once any field fails, and an operator fixing
 * a catalog wants every problem in one pass, not one per edit.
 */
import { z } from 'zod';
import { claimSources, type ClaimSource } from '../domain/purchase';

export type BuyerClaimSource = {
  [S in ClaimSource]: (typeof claimSources)[S] extends 'buyer' ? S : never;
}[ClaimSource];

export const buyerClaimSources = Object.keys(claimSources).filter(
  (source): source is BuyerClaimSource => claimSources[source as ClaimSource] === 'buyer',
);

/** A problem found in the file: where (zod-style path from the file's root) and the rule it breaks. */
export interface CatalogIssue {
  path: ReadonlyArray<PropertyKey>;
  message: string;
}

const requiredString = (what = 'a string') =>
  z
    .string({ error: (issue) => (issue.input === undefined ? 'is required' : `must be ${what}`) })
    .trim()
    .min(1, 'must not be empty');

/**
 * Ids end up in notes, metadata, LMS keys and the ops CLI's output, and the resolver joins several
 * product ids with `+`: a plain alphabet keeps all of them unambiguous.
 */
const catalogId = requiredString().regex(
  /^[A-Za-z0-9][A-Za-z0-9._-]{0,63}$/,
  'must be 1 to 64 letters, digits, ".", "_" or "-", starting with a letter or digit',
);

const providerId = (prefix: string, what: string) =>
  requiredString().refine((id) => id.startsWith(prefix) && id.length > prefix.length, {
    message: `${what} start with ${prefix}`,
  });

const idList = <T extends z.ZodType<string>>(item: T) =>
  z.array(item, { error: 'must be a list' }).default([]);

const isoCurrencies: ReadonlySet<string> = new Set(Intl.supportedValuesOf('currency'));

const currencyCode = z
  .string()
  .refine(
    (code) => /^[A-Z]{3}$/.test(code) && isoCurrencies.has(code),
    'currency must be an upper-case ISO 4217 code',
  );

/** `{ INR: 499900 }`: minor units per currency. */
const pricesSchema = z.record(
  currencyCode,
  z
    .number({ error: 'must be a price in minor units (an integer: 499900 is INR 4,999.00)' })
    .int('must be a whole number of minor units')
    .positive('must be positive'),
  { error: 'must map currency codes to prices, e.g. { INR: 499900 }' },
);

/** A misspelt optional field (`welcomeTemplat`) would otherwise be dropped without a word. */
const strict = <S extends z.core.$ZodLooseShape>(shape: S, what: string) =>
  z.strictObject(shape, {
    error: (issue) =>
      issue.code === 'unrecognized_keys'
        ? `unknown field${issue.keys.length > 1 ? 's' : ''} ${issue.keys.map((k) => `"${k}"`).join(', ')}`
        : `must be ${what}`,
  });

export const courseSchema = strict(
  {
    id: catalogId,
    title: requiredString(),
    /** The course's id in the LMS, which may differ from the catalog's. */
    lmsCourseId: requiredString(),
    prices: pricesSchema.refine((p) => Object.keys(p).length > 0, 'must name at least one currency'),
    welcomeTemplate: requiredString().optional(),
  },
  'a course (id, title, lmsCourseId, prices)',
);

/**
 * What happens to a product's access when the money goes back (issue 11). A full refund and a lost
 * dispute always revoke; a won dispute restores what a dispute suspended. The defaults are the safe
 * side: a person looks at a partial refund, a dispute suspends, a subscription keeps access for the
 * period it paid.
 */
export const accessPolicySchema = strict(
  {
    partialRefund: z
      .enum(['review', 'keep', 'revoke'], { error: 'must be review, keep or revoke' })
      .default('review'),
    disputeOpened: z.enum(['suspend', 'keep'], { error: 'must be suspend or keep' }).default('suspend'),
    subscriptionEnded: z
      .enum(['period_end', 'immediately'], { error: 'must be period_end or immediately' })
      .default('period_end'),
    /** A WhatsApp template telling the student access ended; none is sent without one. */
    accessEndedTemplate: requiredString().optional(),
  },
  'an object with partialRefund, disputeOpened, subscriptionEnded, accessEndedTemplate',
);

export type AccessPolicy = z.output<typeof accessPolicySchema>;

export const productSchema = strict(
  {
    id: catalogId,
    title: requiredString().optional(),
    courses: z
      .array(catalogId, { error: 'must be a list of course ids' })
      .min(1, 'must name at least one course'),
    prices: pricesSchema.optional(),
    razorpay: strict(
      {
        paymentLinkIds: idList(providerId('plink_', 'Razorpay payment link ids')),
        subscriptionPlanIds: idList(providerId('plan_', 'Razorpay plan ids')),
      },
      'an object with paymentLinkIds, subscriptionPlanIds',
    ).default({ paymentLinkIds: [], subscriptionPlanIds: [] }),
    stripe: strict(
      {
        priceIds: idList(providerId('price_', 'Stripe price ids')),
        productIds: idList(providerId('prod_', 'Stripe product ids')),
      },
      'an object with priceIds, productIds',
    ).default({ priceIds: [], productIds: [] }),
    access: accessPolicySchema.default({
      partialRefund: 'review',
      disputeOpened: 'suspend',
      subscriptionEnded: 'period_end',
    }),
  },
  'a product (id, courses, optional prices, razorpay, stripe, access)',
);

const buyerSource = z.enum(buyerClaimSources as [BuyerClaimSource, ...BuyerClaimSource[]], {
  error: (issue) => {
    const source = String(issue.input);
    return typeof issue.input === 'string' && Object.hasOwn(claimSources, source)
      ? `"${source}" is merchant-set and always trusted; list only buyer-set sources (${buyerClaimSources.join(', ')})`
      : `"${source}" is not a claim source; buyer-set sources are ${buyerClaimSources.join(', ')}`;
  },
});

export const trustSchema = strict(
  {
    notesKeys: z
      .array(requiredString(), { error: 'must be a list of keys' })
      .min(1, 'must name at least one key (e.g. [product_id])'),
    buyerSources: z.array(buyerSource, { error: 'must be a list' }).default([]),
  },
  'an object with notesKeys and buyerSources',
);

/** The file's top level; entries are validated one by one (see the module comment). */
const envelopeSchema = strict(
  {
    version: z.literal(1, { error: 'must be 1' }),
    trust: trustSchema,
    courses: z.array(z.unknown(), { error: 'must be a list of courses' }),
    products: z.array(z.unknown(), { error: 'must be a list of products' }),
  },
  'a mapping with version, trust, courses and products',
);

export type CourseEntry = z.output<typeof courseSchema>;
export type ProductEntry = z.output<typeof productSchema>;
export type TrustEntry = z.output<typeof trustSchema>;

export interface CatalogEntries {
  version: 1;
  trust: TrustEntry;
  courses: CourseEntry[];
  products: ProductEntry[];
}

export type CheckedCatalog = { ok: true; entries: CatalogEntries } | { ok: false; issues: CatalogIssue[] };

const issuesOf = (error: z.ZodError, prefix: readonly PropertyKey[] = []): CatalogIssue[] =>
  error.issues.map((issue) => ({
    path: [...prefix, ...issue.path],
    // zod words a bad record key as "Invalid key in record"; the key schema's own rule says which.
    message: issue.code === 'invalid_key' ? (issue.issues[0]?.message ?? issue.message) : issue.message,
  }));

/** Every entry that is valid on its own, with its index in the file; the others add their issues. */
function validEntries<S extends z.ZodType>(
  schema: S,
  raw: readonly unknown[],
  list: 'courses' | 'products',
  issues: CatalogIssue[],
): Array<{ index: number; entry: z.output<S> }> {
  const valid: Array<{ index: number; entry: z.output<S> }> = [];
  raw.forEach((item, index) => {
    const result = schema.safeParse(item);
    if (result.success) valid.push({ index, entry: result.data });
    else issues.push(...issuesOf(result.error, [list, index]));
  });
  return valid;
}

/** The raw `id` of an entry, valid or not: a product naming an invalid course is not also "unknown". */
const rawId = (item: unknown): string | undefined => {
  const id = typeof item === 'object' && item !== null ? (item as { id?: unknown }).id : undefined;
  return typeof id === 'string' ? id.trim() : undefined;
};

function checkUniqueIds(raw: readonly unknown[], list: 'courses' | 'products', issues: CatalogIssue[]): void {
  const first = new Map<string, number>();
  raw.forEach((item, index) => {
    const id = rawId(item);
    if (!id) return;
    const earlier = first.get(id);
    if (earlier === undefined) first.set(id, index);
    else issues.push({ path: [list, index], message: `id "${id}" is already used by ${list}[${earlier}]` });
  });
}

/**
 * What the rules between entries need of a product, read leniently from the raw entry: a product with
 * a malformed field still has its courses and provider ids checked. Non-string items are left to the
 * entry's own schema.
 */
interface LooseProduct {
  index: number;
  id?: string;
  courses: Array<[k: number, id: string]>;
  hasPrices: boolean;
  providerIds: Array<[list: string, ids: Array<[k: number, id: string]>]>;
}

const field = (value: unknown, key: string): unknown =>
  typeof value === 'object' && value !== null && !Array.isArray(value)
    ? (value as Record<string, unknown>)[key]
    : undefined;

const strings = (value: unknown): Array<[k: number, id: string]> =>
  Array.isArray(value)
    ? value.flatMap((item: unknown, k) =>
        typeof item === 'string' && item.trim() ? [[k, item.trim()] as [number, string]] : [],
      )
    : [];

const looseProduct = (raw: unknown, index: number): LooseProduct => ({
  index,
  id: rawId(raw),
  courses: strings(field(raw, 'courses')),
  hasPrices: field(raw, 'prices') !== undefined,
  providerIds: [
    ['stripe.priceIds', strings(field(field(raw, 'stripe'), 'priceIds'))],
    ['stripe.productIds', strings(field(field(raw, 'stripe'), 'productIds'))],
    ['razorpay.subscriptionPlanIds', strings(field(field(raw, 'razorpay'), 'subscriptionPlanIds'))],
    ['razorpay.paymentLinkIds', strings(field(field(raw, 'razorpay'), 'paymentLinkIds'))],
  ],
});

function checkProducts(
  rawProducts: readonly unknown[],
  rawCourses: readonly unknown[],
  issues: CatalogIssue[],
): void {
  const courseIds = new Set(rawCourses.map(rawId).filter((id): id is string => id !== undefined));
  const owners = new Map<string, { index: number; id?: string }>();

  for (const product of rawProducts.map(looseProduct)) {
    const { index, id } = product;
    const at = (message: string) => issues.push({ path: ['products', index], message });
    const listed = new Set<string>();
    for (const [k, courseId] of product.courses) {
      if (!courseIds.has(courseId)) at(`courses[${k}] "${courseId}" is not a course in this catalog`);
      if (listed.has(courseId)) at(`courses[${k}] "${courseId}" is listed twice`);
      listed.add(courseId);
    }
    if (listed.size > 1 && !product.hasPrices) {
      at('a bundle (more than one course) needs its own prices');
    }
    // Notes name a product or a course by id; the same id for a product that grants something else
    // would make such a note mean two things.
    if (id !== undefined && courseIds.has(id) && (listed.size !== 1 || !listed.has(id))) {
      at(`id "${id}" is also a course id, but this product does not grant just that course`);
    }
    for (const [list, ids] of product.providerIds) {
      for (const [k, providerId] of ids) {
        const key = `${list}:${providerId}`;
        const owner = owners.get(key);
        if (!owner) owners.set(key, { index, id });
        else if (owner.index !== index) {
          const name = owner.id === undefined ? '' : ` (${owner.id})`;
          at(`${list}[${k}] "${providerId}" already belongs to products[${owner.index}]${name}`);
        }
      }
    }
  }
}

/** Validates a parsed file: the entries when all is well, else every problem found. */
export function checkCatalog(raw: unknown): CheckedCatalog {
  const envelope = envelopeSchema.safeParse(raw);
  if (!envelope.success) {
    // Entries are still checked when the top level is only partly wrong, so one pass shows everything.
    const issues = issuesOf(envelope.error);
    const partial = typeof raw === 'object' && raw !== null ? (raw as Record<string, unknown>) : {};
    const rawCourses = Array.isArray(partial.courses) ? (partial.courses as unknown[]) : [];
    const rawProducts = Array.isArray(partial.products) ? (partial.products as unknown[]) : [];
    entryIssues(rawCourses, rawProducts, issues);
    return { ok: false, issues: inFileOrder(issues) };
  }
  const issues: CatalogIssue[] = [];
  const entries = entryIssues(envelope.data.courses, envelope.data.products, issues);
  if (issues.length > 0) return { ok: false, issues: inFileOrder(issues) };
  return { ok: true, entries: { version: 1, trust: envelope.data.trust, ...entries } };
}

const sections = ['version', 'trust', 'courses', 'products'];

/** Issues grouped by section and entry, as an operator reads the file; stable within an entry. */
function inFileOrder(issues: CatalogIssue[]): CatalogIssue[] {
  const rank = (issue: CatalogIssue): [number, number] => {
    const [section, index] = issue.path;
    const s = sections.indexOf(String(section));
    return [s === -1 ? -1 : s, typeof index === 'number' ? index : -1];
  };
  return issues
    .map((issue, order) => ({ issue, order, rank: rank(issue) }))
    .sort((a, b) => a.rank[0] - b.rank[0] || a.rank[1] - b.rank[1] || a.order - b.order)
    .map(({ issue }) => issue);
}

function entryIssues(
  rawCourses: readonly unknown[],
  rawProducts: readonly unknown[],
  issues: CatalogIssue[],
): { courses: CourseEntry[]; products: ProductEntry[] } {
  const courses = validEntries(courseSchema, rawCourses, 'courses', issues);
  const products = validEntries(productSchema, rawProducts, 'products', issues);
  checkUniqueIds(rawCourses, 'courses', issues);
  checkUniqueIds(rawProducts, 'products', issues);
  checkProducts(rawProducts, rawCourses, issues);
  return { courses: courses.map((c) => c.entry), products: products.map((p) => p.entry) };
}
