import { ConfigError, loadWorkerConfig } from '../../src/config';
import { testConfig } from '../activities/support/fixtures';

/** The chosen LMS's settings are required at start-up, with a message naming them; the others are not. */
const base = () => {
  const env: Record<string, string> = {};
  for (const [k, v] of Object.entries(testConfig('http://127.0.0.1:9'))) {
    if (typeof v === 'string' || typeof v === 'number') env[k] = String(v);
  }
  delete env.LMS_BASE_URL;
  delete env.LMS_API_KEY;
  delete env.LMS_PROVIDER;
  return env;
};

const messageOf = (env: Record<string, string>) => {
  try {
    loadWorkerConfig(env);
  } catch (err) {
    expect(err).toBeInstanceOf(ConfigError);
    return (err as Error).message;
  }
  throw new Error('expected a ConfigError');
};

describe('LMS_PROVIDER', () => {
  it('defaults to generic, which needs LMS_BASE_URL and LMS_API_KEY', () => {
    const message = messageOf(base());
    expect(message).toContain('LMS_BASE_URL is required when LMS_PROVIDER=generic');
    expect(message).toContain('LMS_API_KEY is required when LMS_PROVIDER=generic');
    expect(message).not.toContain('MOODLE');
  });

  it('moodle needs MOODLE_URL and MOODLE_TOKEN, and nothing of the generic LMS', () => {
    const message = messageOf({ ...base(), LMS_PROVIDER: 'moodle' });
    expect(message).toContain('MOODLE_URL is required when LMS_PROVIDER=moodle');
    expect(message).toContain('MOODLE_TOKEN is required when LMS_PROVIDER=moodle');
    expect(message).not.toContain('LMS_BASE_URL');
    const config = loadWorkerConfig({
      ...base(),
      LMS_PROVIDER: 'moodle',
      MOODLE_URL: 'https://moodle.example.edu/',
      MOODLE_TOKEN: 'a1b2c3',
    });
    expect(config).toMatchObject({
      LMS_PROVIDER: 'moodle',
      MOODLE_URL: 'https://moodle.example.edu',
      MOODLE_ROLE_ID: 5,
      MOODLE_COURSE_FIELD: 'idnumber',
      MOODLE_AUTH: 'manual',
      MOODLE_USERNAME_PREFIX: '',
      MOODLE_REVOKE: 'unenrol',
    });
  });

  it('canvas needs CANVAS_URL and CANVAS_TOKEN, with documented defaults', () => {
    const message = messageOf({
      ...base(),
      LMS_PROVIDER: 'canvas',
      CANVAS_URL: 'https://canvas.example.edu',
    });
    expect(message).toContain('CANVAS_TOKEN is required when LMS_PROVIDER=canvas');
    expect(message).not.toContain('CANVAS_URL');
    const config = loadWorkerConfig({
      ...base(),
      LMS_PROVIDER: 'canvas',
      CANVAS_URL: 'https://canvas.example.edu',
      CANVAS_TOKEN: 'token',
    });
    expect(config).toMatchObject({
      CANVAS_ACCOUNT_ID: 'self',
      CANVAS_USER_FIELD: 'login',
      CANVAS_COURSE_FIELD: 'sis',
      CANVAS_REVOKE: 'delete',
    });
  });

  it('names the rule for a value out of range, never the value of a token', () => {
    const message = messageOf({
      ...base(),
      LMS_PROVIDER: 'blackboard',
      MOODLE_TOKEN: 'secret-token-value',
      MOODLE_REVOKE: 'delete',
      CANVAS_ACCOUNT_ID: 'root',
    });
    expect(message).toContain('LMS_PROVIDER must be one of generic, moodle, canvas');
    expect(message).toContain('MOODLE_REVOKE must be unenrol or suspend');
    expect(message).toContain('CANVAS_ACCOUNT_ID is self, a number or sis_account_id:<id>');
    expect(message).not.toContain('secret-token-value');
  });
});
