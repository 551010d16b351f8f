/**
 * A short, stable key for what a redelivery says, so a workflow takes each distinct content once.
 * Workflow-safe (no Node crypto): FNV-1a is enough here because the key only deduplicates content the
 * receiver already verified; it protects nothing against a forger.
 */
export function contentKey(parts: ReadonlyArray<string | undefined>): string {
  const text = parts.map((p) => p ?? '').join('\u0000');
  let hash = 0x811c9dc5;
  for (let i = 0; i < text.length; i++) {
    hash ^= text.charCodeAt(i);
    hash = Math.imul(hash, 0x01000193) >>> 0;
  }
  return hash.toString(16).padStart(8, '0');
}
