import fs from 'node:fs';
import path from 'node:path';
import { MOODLE_FUNCTIONS } from '../../src/activities/lms/moodle';
import { MOODLE_SERVICE_FUNCTIONS } from '../../src/sandbox/moodle';

/**
 * What docs/lms.md tells a Moodle administrator to put in the external service is what the adapter
 * calls, and what the sandbox's Moodle allows: a function missing from the service is an access
 * exception in production, so the three lists must not drift apart.
 */
const doc = fs.readFileSync(path.join(__dirname, '..', '..', 'docs', 'lms.md'), 'utf8');
const section = doc.slice(doc.indexOf('**An external service**'), doc.indexOf('**A token**'));
const documented = [...section.matchAll(/^\s+- `([a-z_]+)`:/gm)].map((m) => m[1]);

describe('the Moodle service in docs/lms.md', () => {
  it('lists exactly the functions the adapter calls', () => {
    expect(documented.sort()).toEqual([...MOODLE_FUNCTIONS].sort());
  });

  it('is the service the sandbox emulates', () => {
    expect([...MOODLE_SERVICE_FUNCTIONS].sort()).toEqual([...MOODLE_FUNCTIONS].sort());
  });
});
