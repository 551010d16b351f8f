import { createSandboxApp } from '../../src/sandbox/app';
import { loadSandboxConfig } from '../../src/sandbox/config';
import { credentials } from './harness';

const env = (extra: Record<string, string> = {}): NodeJS.ProcessEnv => ({ ...credentials, ...extra });

describe('sandbox configuration from env', () => {
  it('applies the defaults', () => {
    const config = loadSandboxConfig(env());

    expect(config).toMatchObject({
      SANDBOX_HOST: '127.0.0.1',
      SANDBOX_PORT: 4010,
      SANDBOX_HUBSPOT_TOKEN_TTL_SECONDS: 1800,
      LOG_LEVEL: 'info',
      LMS_API_KEY: credentials.LMS_API_KEY,
    });
    expect(config.SANDBOX_FAULTS).toBeUndefined();
    expect(config.SANDBOX_SEED).toBeUndefined();
  });

  it('parses ports, TTL, seed and the fault spec', () => {
    const config = loadSandboxConfig(
      env({
        SANDBOX_PORT: '0',
        SANDBOX_HUBSPOT_TOKEN_TTL_SECONDS: '5',
        SANDBOX_SEED: '7',
        SANDBOX_FAULTS: '{"lms":{"failNext":2},"hubspotTokenTtlSeconds":3}',
      }),
    );

    expect(config.SANDBOX_PORT).toBe(0);
    expect(config.SANDBOX_HUBSPOT_TOKEN_TTL_SECONDS).toBe(5);
    expect(config.SANDBOX_SEED).toBe(7);
    expect(config.SANDBOX_FAULTS).toEqual({ lms: { failNext: 2 }, hubspotTokenTtlSeconds: 3 });
  });

  it('treats empty variables as unset', () => {
    const config = loadSandboxConfig(env({ SANDBOX_PORT: '', SANDBOX_SEED: '', SANDBOX_FAULTS: '' }));

    expect(config.SANDBOX_PORT).toBe(4010);
    expect(config.SANDBOX_SEED).toBeUndefined();
    expect(config.SANDBOX_FAULTS).toBeUndefined();
  });

  it('names every missing credential without printing any value', () => {
    const partial = { LMS_API_KEY: 'super-secret-value', WHATSAPP_ACCESS_TOKEN: '' };

    const load = () => loadSandboxConfig(partial);

    expect(load).toThrow(/Invalid sandbox configuration/);
    const message = (() => {
      try {
        load();
        return '';
      } catch (err) {
        return (err as Error).message;
      }
    })();
    for (const name of [
      'WHATSAPP_ACCESS_TOKEN',
      'WHATSAPP_PHONE_NUMBER_ID',
      'HUBSPOT_CLIENT_ID',
      'HUBSPOT_CLIENT_SECRET',
      'HUBSPOT_REFRESH_TOKEN',
    ]) {
      expect(message).toContain(`${name}: ${name} is required`);
    }
    expect(message).not.toContain('LMS_API_KEY');
    expect(message).not.toContain('super-secret-value');
  });

  it('explains a SANDBOX_FAULTS that is not JSON or not a valid spec', () => {
    expect(() => loadSandboxConfig(env({ SANDBOX_FAULTS: '{lms:' }))).toThrow(
      'SANDBOX_FAULTS: SANDBOX_FAULTS must be a JSON object',
    );
    expect(() => loadSandboxConfig(env({ SANDBOX_FAULTS: '{"lms":{"errorRate":3}}' }))).toThrow(
      /SANDBOX_FAULTS\.lms\.errorRate:/,
    );
  });

  it('rejects an out-of-range port', () => {
    expect(() => loadSandboxConfig(env({ SANDBOX_PORT: '70000' }))).toThrow(/SANDBOX_PORT:/);
  });
});

describe('sandbox options in code', () => {
  it('throws on an invalid fault spec or a missing credential, naming the path', () => {
    expect(() => createSandboxApp({ credentials, faults: { lms: { failNext: -1 } } })).toThrow(
      /faults\.lms\.failNext/,
    );
    const { HUBSPOT_REFRESH_TOKEN: _dropped, ...incomplete } = credentials;
    expect(() => createSandboxApp({ credentials: incomplete as typeof credentials })).toThrow(
      'credentials.HUBSPOT_REFRESH_TOKEN: credentials.HUBSPOT_REFRESH_TOKEN is required',
    );
  });
});
