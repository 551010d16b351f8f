import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { temporalConnectionOptions } from '../../src/temporal/connection-options';
import { newPayloadKeyEnv } from '../../src/temporal/payload-codec';

describe('Temporal connection from the environment', () => {
  const config = { TEMPORAL_ADDRESS: 'ns.acct.tmprl.cloud:7233' };

  it('connects to a local dev server with just an address', () => {
    const options = temporalConnectionOptions({ TEMPORAL_ADDRESS: '127.0.0.1:7233' }, {});
    expect(options.address).toBe('127.0.0.1:7233');
    expect(options.apiKey).toBeUndefined();
    expect(options.tls).toBeFalsy();
  });

  it('uses an API key with TLS for Temporal Cloud', () => {
    const options = temporalConnectionOptions(config, { TEMPORAL_API_KEY: 'key-abcdefghijklmnopqrstuvwxyz' });
    expect(options).toMatchObject({
      address: 'ns.acct.tmprl.cloud:7233',
      apiKey: 'key-abcdefghijklmnopqrstuvwxyz',
    });
    expect(options.tls).toBeTruthy();
  });

  it('uses client certificates for mTLS (self-hosted or Cloud)', () => {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'mtls-'));
    fs.writeFileSync(path.join(dir, 'client.pem'), 'CERT');
    fs.writeFileSync(path.join(dir, 'client.key'), 'KEY');
    const options = temporalConnectionOptions(config, {
      TEMPORAL_TLS_CLIENT_CERT_PATH: path.join(dir, 'client.pem'),
      TEMPORAL_TLS_CLIENT_KEY_PATH: path.join(dir, 'client.key'),
    });
    const tls = options.tls as { clientCertPair?: { crt: Uint8Array; key: Uint8Array } };
    expect(Buffer.from(tls.clientCertPair!.crt).toString()).toBe('CERT');
    expect(Buffer.from(tls.clientCertPair!.key).toString()).toBe('KEY');
    fs.rmSync(dir, { recursive: true });
  });

  it('ignores a developer profile file unless TEMPORAL_CONFIG_FILE names one', () => {
    const options = temporalConnectionOptions(config, { HOME: '/nonexistent' });
    expect(options.address).toBe(config.TEMPORAL_ADDRESS);
  });
});

describe('empty variables', () => {
  it('treat `VAR=` copied from .env.example as unset, so defaults apply', () => {
    const { loadWebhookConfig } = jest.requireActual<typeof import('../../src/config')>('../../src/config');
    const config = loadWebhookConfig({
      RAZORPAY_WEBHOOK_SECRETS: 'rzp_secret_1',
      STRIPE_WEBHOOK_SECRETS: 'whsec_secret_1',
      ...newPayloadKeyEnv(),
      TEMPORAL_API_KEY: '',
      TEMPORAL_TLS: '',
      LOG_LEVEL: '',
      WEBHOOK_PORT: '',
    });
    expect(config).toMatchObject({ LOG_LEVEL: 'info', WEBHOOK_PORT: 3000 });
    expect(config.TEMPORAL_API_KEY).toBeUndefined();
    expect(temporalConnectionOptions(config, { TEMPORAL_API_KEY: '' }).apiKey).toBeUndefined();
  });
});
