/**
 * The bytes Razorpay (PHP `json_encode`) puts on the wire: `/` escaped as `\/` and non-ASCII as
 * `\uXXXX`. That differs from `JSON.stringify(JSON.parse(raw))`, which is the point: a receiver that
 * verifies a re-serialised body instead of the received bytes fails here as it would in production.
 */
export function serializeAsRazorpay(body: object): string {
  return JSON.stringify(body)
    .replace(/\//g, '\\/')
    .replace(/[\u0080-\uffff]/g, (c) => `\\u${c.charCodeAt(0).toString(16).padStart(4, '0')}`);
}
