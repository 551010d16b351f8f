/**
 * `catalog check [file]`: validates a catalog file before it is deployed, and prints what it sells as
 * the worker will read it (defaults applied), so an operator can see that each provider id grants what
 * they meant. Needs no Temporal connection.
 */
import { CatalogError, loadCatalog, type Catalog, type CatalogProduct } from '../catalog';
import { formatAmount } from '../domain/money';
import { OpsError } from './errors';

/** The file the worker reads (CATALOG_PATH), else the sample in the repository. */
export const DEFAULT_CATALOG_PATH = 'catalog/sample.yaml';

export function catalogPathOf(file: string | undefined, env: NodeJS.ProcessEnv): string {
  return file ?? (env.CATALOG_PATH || DEFAULT_CATALOG_PATH);
}

/** Loads the catalog; an invalid one becomes an OpsError carrying the catalog's full list of problems. */
export function checkCatalogFile(path: string): Catalog {
  try {
    return loadCatalog(path);
  } catch (err) {
    if (err instanceof CatalogError) throw new OpsError(err.message);
    throw err;
  }
}

const list = (ids: readonly string[]): string => ids.join(', ');
const count = (n: number, word: string): string => `${n} ${word}${n === 1 ? '' : 's'}`;

function renderProduct(product: CatalogProduct): string[] {
  const lines = [`${product.id}  ${product.title}`];
  for (const course of product.courses) {
    const welcome = course.welcomeTemplate ? `, welcome template ${course.welcomeTemplate}` : '';
    lines.push(`  course           ${course.id}  ${course.title} (LMS ${course.lmsCourseId}${welcome})`);
  }
  const prices = Object.entries(product.prices).map(
    ([currency, minor]) => `${currency} ${formatAmount(minor, currency)}`,
  );
  lines.push(`  prices           ${prices.join(', ')}`);
  const mappings: Array<[string, readonly string[]]> = [
    ['stripe prices', product.stripe.priceIds],
    ['stripe products', product.stripe.productIds],
    ['razorpay plans', product.razorpay.subscriptionPlanIds],
    ['razorpay links', product.razorpay.paymentLinkIds],
  ];
  for (const [label, ids] of mappings) {
    if (ids.length > 0) lines.push(`  ${label.padEnd(15)}  ${list(ids)}`);
  }
  const { partialRefund, disputeOpened, subscriptionEnded, accessEndedTemplate } = product.access;
  lines.push(
    `  money back       full refund revoke, partial refund ${partialRefund}, dispute ${disputeOpened} ` +
      `(won restores, lost revokes), subscription ended ${subscriptionEnded.replace('_', ' ')}` +
      (accessEndedTemplate ? `, template ${accessEndedTemplate}` : ''),
  );
  return lines;
}

export function renderCatalog(catalog: Catalog): string {
  const buyer = catalog.trust.buyerSources.length > 0 ? list(catalog.trust.buyerSources) : 'none';
  const header = [
    `Catalog ${catalog.source} is valid: ${count(catalog.products.length, 'product')}, ${count(catalog.courses.length, 'course')}.`,
    `Trusted: merchant-set claims; notes and metadata keys ${list(catalog.trust.notesKeys)}; buyer-set sources: ${buyer}.`,
  ];
  return [...header, ...catalog.products.flatMap((p) => ['', ...renderProduct(p)])].join('\n') + '\n';
}
