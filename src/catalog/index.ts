/** The course catalog: what each provider's items grant, at what price, and what a payment bought. */
export {
  CatalogError,
  catalogFormatOf,
  loadCatalog,
  parseCatalog,
  type Catalog,
  type CatalogCourse,
  type CatalogFormat,
  type CatalogProduct,
  type Prices,
} from './load';
export { buyerClaimSources, type BuyerClaimSource } from './schema';
export { resolvePurchase, type ResolveOptions } from './resolve';
