import path from 'node:path';
import { tmpdir } from 'node:os';
import type { PaymentProvider } from '../../src/domain/payment-event';
import { runSend } from '../../src/tools/send';
import type { System } from './system';

/** No `.data/dev.env` here: the system's own URLs and secrets are passed instead. */
const NO_DEV_ENV = path.join(tmpdir(), 'enrollflow-test-missing', 'dev.env');

export interface SendJson {
  paymentId: string;
  ok: boolean;
  results: Array<{ status: number; body: string; paymentId: string; eventType: string }>;
  refund?: { refundId: string };
  dispute?: { disputeId: string; status: string };
}

/** `npm run send -- <provider> ... --json` against the test system, in-process; fails the test on any error. */
export async function sendJson(system: System, provider: PaymentProvider, args: string[]): Promise<SendJson> {
  let out = '';
  let err = '';
  const code = await runSend(
    [
      provider,
      '--url',
      system.receiver.url,
      '--sandbox',
      system.sandbox.url,
      '--secret',
      system.secrets[provider],
      '--json',
      ...args,
    ],
    { CATALOG_PATH: system.env.CATALOG_PATH },
    { stdout: (t) => void (out += t), stderr: (t) => void (err += t) },
    NO_DEV_ENV,
  );
  expect({ code, err }).toEqual({ code: 0, err: '' });
  return JSON.parse(out) as SendJson;
}
