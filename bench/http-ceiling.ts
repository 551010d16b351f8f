/**
 * The HTTP ceiling: a bare Express handler that reads the raw body, verifies the Razorpay HMAC
 * exactly as the receiver does (hex HMAC-SHA256 of the raw bytes, constant-time compare) and answers
 * 200. No parsing, no validation, no Temporal, no logging: what Node + Express + the HMAC cost here.
 * Env: BENCH_PORT, RAZORPAY_WEBHOOK_SECRETS (one secret).
 */
import { createHmac, timingSafeEqual } from 'node:crypto';
import express from 'express';

const secret = process.env.RAZORPAY_WEBHOOK_SECRETS!;
const app = express();
app.disable('x-powered-by');
app.set('etag', false);
app.post('/webhooks/razorpay', express.raw({ type: 'application/json', limit: '1mb' }), (req, res) => {
  const signature = req.get('x-razorpay-signature') ?? '';
  const expected = createHmac('sha256', secret)
    .update(req.body as Buffer)
    .digest();
  const received = Buffer.from(signature, 'hex');
  if (received.length !== expected.length || !timingSafeEqual(expected, received)) {
    res.status(401).json({ error: 'invalid_signature' });
    return;
  }
  res.status(200).json({ status: 'started' });
});
app.get('/healthz', (_req, res) => {
  res.json({ status: 'ok' });
});

const server = app.listen(Number(process.env.BENCH_PORT), '127.0.0.1');
process.once('SIGTERM', () => {
  server.close(() => process.exit(0));
  server.closeAllConnections();
});
