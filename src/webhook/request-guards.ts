/** What a delivery's headers must say before its body is worth reading. */
import type { IncomingHttpHeaders } from 'node:http';
import type { Outcome } from './outcome';

/**
 * The request's headers with every repeated header kept as an array. Node joins most repeated
 * headers into one comma-separated string, so two `Stripe-Signature` lines would reach the verifier
 * as one header whose v1 list mixes both; a provider sends each header once, and `singleHeader`
 * refuses an array. Built from `rawHeaders` on a null-prototype object: a header named `__proto__`
 * is just a header.
 */
export function deliveryHeaders(rawHeaders: readonly string[]): IncomingHttpHeaders {
  const grouped = new Map<string, string[]>();
  for (let i = 0; i + 1 < rawHeaders.length; i += 2) {
    const name = rawHeaders[i]!.toLowerCase();
    const values = grouped.get(name) ?? [];
    values.push(rawHeaders[i + 1]!);
    grouped.set(name, values);
  }
  const headers = Object.create(null) as IncomingHttpHeaders;
  for (const [name, values] of grouped) headers[name] = values.length === 1 ? values[0] : values;
  return headers;
}

/**
 * `application/json`, once, with no charset or UTF-8: the signature is over bytes we decode as UTF-8
 * (RFC 8259 JSON is UTF-8), so a body declared in another charset is refused rather than misread.
 */
function isJsonContentType(header: string | string[] | undefined): boolean {
  if (typeof header !== 'string') return false;
  const [type, ...params] = header.split(';');
  if (type!.trim().toLowerCase() !== 'application/json') return false;
  return params.every((param) => {
    const [key = '', value = ''] = param.split('=');
    if (key.trim().toLowerCase() !== 'charset') return true;
    return ['utf-8', 'utf8'].includes(value.trim().replace(/^"|"$/g, '').toLowerCase());
  });
}

/** Any coding but `identity` (RFC 9110: no encoding). We never decompress an attacker's zip bomb. */
function hasContentEncoding(header: string | string[] | undefined): boolean {
  const values = header === undefined ? [] : Array.isArray(header) ? header : [header];
  return values.some((v) =>
    v.split(',').some((coding) => !['', 'identity'].includes(coding.trim().toLowerCase())),
  );
}

/** The 415 for a body we would have to misread or decompress, else undefined. */
export function unsupportedBody(headers: IncomingHttpHeaders): Outcome | undefined {
  if (!isJsonContentType(headers['content-type'])) {
    return { kind: 'unsupported', error: 'unsupported_media_type' };
  }
  if (hasContentEncoding(headers['content-encoding'])) {
    return { kind: 'unsupported', error: 'unsupported_content_encoding' };
  }
  return undefined;
}
