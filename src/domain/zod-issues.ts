/**
 * How every zod failure is put into words: `field.path: rule`, the field and the rule only. The
 * value is never repeated, because what failed is often a secret (configuration) or student PII
 * (activity inputs). Hand-written rather than `z.prettifyError`: that renders multi-line text with
 * symbols for a terminal, and our callers need one line for logs and API answers, or a list.
 * Structural types, so workflow-safe code can use it without importing zod.
 */
export interface IssueLike {
  readonly path: ReadonlyArray<PropertyKey>;
  readonly message: string;
}

export interface IssueDetail {
  field: string;
  message: string;
}

/** Each issue with its dotted path; `whole` names an issue about the value itself (empty path). */
export function issueDetails(
  error: { readonly issues: readonly IssueLike[] },
  whole = '(input)',
): IssueDetail[] {
  return error.issues.map((issue) => ({
    field: issue.path.map(String).join('.') || whole,
    message: issue.message,
  }));
}

/** `a.b: rule; c: rule`, or one `  - a.b: rule` line each with `separator = '\n'` and `bullet = '  - '`. */
export function describeIssues(
  error: { readonly issues: readonly IssueLike[] },
  {
    whole = '(input)',
    separator = '; ',
    bullet = '',
  }: { whole?: string; separator?: string; bullet?: string } = {},
): string {
  return issueDetails(error, whole)
    .map(({ field, message }) => `${bullet}${field}: ${message}`)
    .join(separator);
}
