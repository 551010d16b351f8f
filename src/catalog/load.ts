/**
 * Reading the catalog file (CATALOG_PATH) into a `Catalog`: parse (YAML or JSON, by extension),
 * validate (schema.ts), and index it by every id a provider's record can carry. The worker loads it
 * once at start-up, so a bad file stops it there, with every problem listed, rather than sending
 * each payment to review.
 */
import { readFileSync } from 'node:fs';
import { extname } from 'node:path';
import { parseDocument } from 'yaml';
import {
  checkCatalog,
  type AccessPolicy,
  type BuyerClaimSource,
  type CatalogEntries,
  type CatalogIssue,
  type CourseEntry,
} from './schema';

/** Minor units per ISO 4217 currency (upper case). */
export type Prices = Readonly<Record<string, number>>;

export interface CatalogCourse {
  id: string;
  title: string;
  lmsCourseId: string;
  prices: Prices;
  welcomeTemplate?: string;
}

export interface CatalogProduct {
  id: string;
  /** The file's title, else (single-course product) its course's. */
  title: string;
  courses: readonly CatalogCourse[];
  /** The product's own prices, else (single-course product) its course's. */
  prices: Prices;
  razorpay: { paymentLinkIds: readonly string[]; subscriptionPlanIds: readonly string[] };
  stripe: { priceIds: readonly string[]; productIds: readonly string[] };
  /** What a refund, a dispute or an ended subscription does to its access. */
  access: AccessPolicy;
}

export interface Catalog {
  /** Where it was read from, for messages. */
  source: string;
  version: 1;
  trust: { notesKeys: readonly string[]; buyerSources: readonly BuyerClaimSource[] };
  courses: readonly CatalogCourse[];
  products: readonly CatalogProduct[];
  courseById: ReadonlyMap<string, CatalogCourse>;
  productById: ReadonlyMap<string, CatalogProduct>;
  /**
   * The single-course product a course id stands for in notes: the one with the course's own id, else
   * the course's only single-course product. Absent when that is ambiguous.
   */
  productByCourseId: ReadonlyMap<string, CatalogProduct>;
  productByStripePriceId: ReadonlyMap<string, CatalogProduct>;
  productByStripeProductId: ReadonlyMap<string, CatalogProduct>;
  productByRazorpayPlanId: ReadonlyMap<string, CatalogProduct>;
  productByPaymentLinkId: ReadonlyMap<string, CatalogProduct>;
}

export type CatalogFormat = 'yaml' | 'json';

/** An unreadable or invalid catalog: the message lists every problem, one per line. */
export class CatalogError extends Error {
  override name = 'CatalogError';
  constructor(
    readonly source: string,
    readonly problems: readonly string[],
  ) {
    super(`Invalid catalog ${source}:\n${problems.map((p) => `  - ${p}`).join('\n')}`);
  }
}

/** The format a file name implies, or undefined for an extension the catalog does not read. */
export function catalogFormatOf(path: string): CatalogFormat | undefined {
  const ext = extname(path).toLowerCase();
  if (ext === '.yaml' || ext === '.yml') return 'yaml';
  if (ext === '.json') return 'json';
  return undefined;
}

/**
 * `courses[0] (course-ml-101): prices.INR: must be positive`. The entry is named by its index and id
 * because an operator searches the file for the id; zod's dotted paths (`courses.0.prices`) name neither
 * well, so this replaces describeIssues' path rendering while keeping its `field: rule` form.
 */
function describeIssue(issue: CatalogIssue, raw: unknown): string {
  const [section, index, ...rest] = issue.path;
  let head: string;
  let tail: readonly PropertyKey[];
  if ((section === 'courses' || section === 'products') && typeof index === 'number') {
    const entry = (raw as Record<string, unknown[]>)[section]?.[index];
    const id = typeof entry === 'object' && entry !== null ? (entry as { id?: unknown }).id : undefined;
    head =
      typeof id === 'string' && id.trim() ? `${section}[${index}] (${id.trim()})` : `${section}[${index}]`;
    tail = rest;
  } else {
    // As describeIssues names an issue about the whole value.
    head = issue.path.length === 0 ? '(catalog)' : '';
    tail = issue.path;
  }
  const field = tail
    .map((key) => (typeof key === 'number' ? `[${key}]` : `.${String(key)}`))
    .join('')
    .replace(/^\./, '');
  return [head, field, issue.message].filter(Boolean).join(': ');
}

function parseText(
  text: string,
  format: CatalogFormat,
): { ok: true; value: unknown } | { ok: false; problems: string[] } {
  if (format === 'json') {
    try {
      return { ok: true, value: JSON.parse(text) as unknown };
    } catch (err) {
      return { ok: false, problems: [`not valid JSON: ${err instanceof Error ? err.message : String(err)}`] };
    }
  }
  const doc = parseDocument(text);
  if (doc.errors.length > 0) {
    // The parser's messages end with a source excerpt over several lines; the first line has the rule and position.
    return { ok: false, problems: doc.errors.map((e) => `not valid YAML: ${e.message.split('\n')[0]}`) };
  }
  return { ok: true, value: doc.toJS() as unknown };
}

const courseOf = (entry: CourseEntry): CatalogCourse => ({
  id: entry.id,
  title: entry.title,
  lmsCourseId: entry.lmsCourseId,
  prices: entry.prices,
  ...(entry.welcomeTemplate === undefined ? {} : { welcomeTemplate: entry.welcomeTemplate }),
});

function indexBy(products: readonly CatalogProduct[], ids: (p: CatalogProduct) => readonly string[]) {
  return new Map(products.flatMap((product) => ids(product).map((id) => [id, product] as const)));
}

function buildCatalog(entries: CatalogEntries, source: string): Catalog {
  const courses = entries.courses.map(courseOf);
  const courseById = new Map(courses.map((c) => [c.id, c]));
  const products = entries.products.map((entry): CatalogProduct => {
    // Validation guarantees every listed course exists, and that a bundle has prices.
    const productCourses = entry.courses.map((id) => courseById.get(id)!);
    const [single] = productCourses;
    return {
      id: entry.id,
      title: entry.title ?? (productCourses.length === 1 && single ? single.title : entry.id),
      courses: productCourses,
      prices: entry.prices ?? single?.prices ?? {},
      razorpay: entry.razorpay,
      stripe: entry.stripe,
      access: entry.access,
    };
  });
  const productById = new Map(products.map((p) => [p.id, p]));

  const productByCourseId = new Map<string, CatalogProduct>();
  for (const course of courses) {
    const own = productById.get(course.id);
    const singles = products.filter((p) => p.courses.length === 1 && p.courses[0] === course);
    const chosen =
      own?.courses.length === 1 && own.courses[0] === course
        ? own
        : singles.length === 1
          ? singles[0]
          : undefined;
    if (chosen) productByCourseId.set(course.id, chosen);
  }

  return {
    source,
    version: entries.version,
    trust: entries.trust,
    courses,
    products,
    courseById,
    productById,
    productByCourseId,
    productByStripePriceId: indexBy(products, (p) => p.stripe.priceIds),
    productByStripeProductId: indexBy(products, (p) => p.stripe.productIds),
    productByRazorpayPlanId: indexBy(products, (p) => p.razorpay.subscriptionPlanIds),
    productByPaymentLinkId: indexBy(products, (p) => p.razorpay.paymentLinkIds),
  };
}

/** Parses and validates catalog text; `sourceName` names it in messages. Throws CatalogError. */
export function parseCatalog(text: string, formatHint: CatalogFormat, sourceName: string): Catalog {
  const parsed = parseText(text, formatHint);
  if (!parsed.ok) throw new CatalogError(sourceName, parsed.problems);
  const checked = checkCatalog(parsed.value);
  if (!checked.ok) {
    throw new CatalogError(
      sourceName,
      checked.issues.map((issue) => describeIssue(issue, parsed.value)),
    );
  }
  return buildCatalog(checked.entries, sourceName);
}

/** Reads, parses (.yaml/.yml as YAML, .json as JSON), validates and indexes a catalog file. Throws CatalogError. */
export function loadCatalog(path: string): Catalog {
  const format = catalogFormatOf(path);
  if (!format) throw new CatalogError(path, ['the file name must end in .yaml, .yml or .json']);
  let text: string;
  try {
    text = readFileSync(path, 'utf8');
  } catch (err) {
    const reason = (err as NodeJS.ErrnoException).code ?? (err instanceof Error ? err.message : String(err));
    throw new CatalogError(path, [`cannot be read (${reason})`]);
  }
  return parseCatalog(text, format, path);
}
