/**
 * The bytes Stripe puts on the wire: JSON pretty-printed with two spaces. A receiver that verified a
 * re-serialised body instead of the received bytes would fail on them, as it would in production.
 */
export const serializeAsStripe = (body: object): string => JSON.stringify(body, null, 2);
