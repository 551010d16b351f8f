import { execFile } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';
import { promisify } from 'node:util';
import { enrollmentWorkflowId } from '../../src/domain/ids';
import type { PaymentProvider } from '../../src/domain/payment-event';
import type { EnrollmentSummary } from '../../src/workflows/messages';
import { sendJson } from '../helpers/send';
import { useSystem, type System, sameEmail } from '../helpers/system';
import { LmsBlocks, opsRunner, visibleAs, waitForState } from '../ops/support';

/**
 * What Temporal keeps on disk, read as an attacker with a copy of the database would: the bytes of
 * the dev server's SQLite file and its write-ahead log after payments of every kind went through the
 * real receiver and worker. With the payload codec no student's email, phone or name is in them; with
 * it off (the negative control) the same search finds them, so the search itself is known to work.
 */

const run = promisify(execFile);

interface Student {
  email: string;
  name: string;
  phone: string;
}

const letters = (n: number) => [...randomBytes(n)].map((b) => String.fromCharCode(97 + (b % 26))).join('');
const capitalised = (s: string) => s[0]!.toUpperCase() + s.slice(1);

/** Strings that occur nowhere else, so a hit can only be this student's data. */
function newStudent(tag: string): Student {
  const digits = [...randomBytes(7)].map((b) => String(b % 10)).join('');
  return {
    email: `${tag}-${letters(8)}@example.com`,
    name: `${capitalised(letters(7))} ${capitalised(letters(9))}`,
    phone: `+91987${digits}`,
  };
}

/** Every SQLite file of the database (main file, WAL, shared memory), read while the server runs. */
function databaseBytes(system: System): Buffer {
  const dbFile = system.dbFile!;
  const files = fs
    .readdirSync(path.dirname(dbFile))
    .filter((f) => f.startsWith(path.basename(dbFile)))
    .map((f) => path.join(path.dirname(dbFile), f));
  expect(files.map((f) => path.basename(f))).toEqual(
    expect.arrayContaining(['temporal.sqlite', 'temporal.sqlite-wal']),
  );
  return Buffer.concat(files.map((f) => fs.readFileSync(f)));
}

/**
 * Each of the student's strings found in the bytes: as it is, the phone without its `+`, and each part
 * of the name alone (the CRM step splits it into first and last name).
 */
function leaks(bytes: Buffer, students: Student[]): string[] {
  return students.flatMap((s) =>
    [s.email, s.name, ...s.name.split(' '), s.phone, s.phone.slice(1)].filter((needle) =>
      bytes.includes(Buffer.from(needle)),
    ),
  );
}

/** `-o json` prints each payload's metadata and data in base64: every one of them, decoded, as text. */
function payloadTexts(json: string): string {
  const texts: string[] = [];
  const walk = (node: unknown): void => {
    if (Array.isArray(node)) return node.forEach(walk);
    if (!node || typeof node !== 'object') return;
    const record = node as Record<string, unknown>;
    if (record.metadata && typeof record.metadata === 'object' && typeof record.data === 'string') {
      for (const value of Object.values(record.metadata)) {
        if (typeof value === 'string') texts.push(Buffer.from(value, 'base64').toString());
      }
      texts.push(Buffer.from(record.data, 'base64').toString());
    }
    Object.values(record).forEach(walk);
  };
  walk(JSON.parse(json));
  return texts.join('\n');
}

async function buy(system: System, provider: PaymentProvider, student: Student): Promise<string> {
  const { paymentId } = await sendJson(system, provider, [
    '--course',
    'course-ml-101',
    '--email',
    student.email,
    '--name',
    student.name,
    '--phone',
    student.phone,
  ]);
  return paymentId;
}

const outcome = async (system: System, provider: PaymentProvider, paymentId: string) =>
  (
    (await system.client.workflow
      .getHandle(enrollmentWorkflowId(provider, paymentId))
      .result()) as EnrollmentSummary
  ).outcome;

describe('with the payload codec, the Temporal database holds no student data', () => {
  const system = useSystem({ persist: true, codecServer: true });
  const students: Student[] = [];
  const paymentIds: string[] = [];

  it('after payments, a review resolved with corrected details, and a refund', async () => {
    // Both providers, welcomed and recorded in the CRM.
    for (const provider of ['razorpay', 'stripe'] as const) {
      const student = newStudent(`privacy-${provider}`);
      students.push(student);
      const paymentId = await buy(system, provider, student);
      paymentIds.push(paymentId);
      expect(await outcome(system, provider, paymentId)).toBe('completed');
    }

    // A payment the LMS rejects waits in review; the operator corrects the student's details (a
    // signal carrying an email and phone) and retries.
    const blocks = new LmsBlocks(system);
    const reviewed = newStudent('privacy-review');
    const corrected = newStudent('privacy-corrected');
    students.push(reviewed, corrected);
    await blocks.block(reviewed.email);
    const reviewedId = await buy(system, 'razorpay', reviewed);
    paymentIds.push(reviewedId);
    const workflowId = enrollmentWorkflowId('razorpay', reviewedId);
    await waitForState(system, workflowId, (s) => s.state === 'needs_review');
    await visibleAs(system, workflowId, 'needs_review');
    const ops = opsRunner(system);
    const shown = await ops('show', reviewedId);
    expect(shown.code).toBe(0);
    // The operator's view is decoded (through the codec) and masked, as before the codec.
    expect(shown.stdout).toContain(`${reviewed.email[0]}***@example.com`);
    expect(shown.stdout).not.toContain(reviewed.email);
    const resolved = await ops(
      'resolve',
      reviewedId,
      '--action',
      'retry',
      '--email',
      corrected.email,
      '--phone',
      corrected.phone,
      '--reviewer',
      'ops@example.org',
      '--note',
      'corrected address',
    );
    expect(resolved).toMatchObject({ code: 0, stderr: '' });
    await blocks.unblockAll();
    expect(await outcome(system, 'razorpay', reviewedId)).toBe('completed');
    const ledger = await system.ledger();
    expect(ledger.enrollments.some((e) => sameEmail(e.email, corrected.email))).toBe(true);

    // Money back: the access change workflow reads the payment's student too.
    const refunded = await sendJson(system, 'razorpay', ['--refund', paymentIds[0]!]);
    expect(refunded.results.every((r) => r.status === 200)).toBe(true);
    const started = refunded.results.map((r) => JSON.parse(r.body)).find((b) => b.status === 'started');
    const refundWorkflowId = started.workflowId as string;
    expect(await system.client.workflow.getHandle(refundWorkflowId).result()).toMatchObject({
      outcome: 'revoked',
    });

    const bytes = databaseBytes(system);
    // The search reads the right database: the payments themselves are in it (their ids are keys).
    for (const id of paymentIds) expect(bytes.includes(Buffer.from(id))).toBe(true);
    expect(leaks(bytes, students)).toEqual([]);
  }, 120_000);

  it('`temporal workflow show` prints sealed payloads, and the input with --codec-endpoint', async () => {
    const student = newStudent('privacy-cli');
    const paymentId = await buy(system, 'stripe', student);
    expect(await outcome(system, 'stripe', paymentId)).toBe('completed');
    const workflowId = enrollmentWorkflowId('stripe', paymentId);
    const show = async (...codec: string[]) => {
      const { stdout } = await run(
        system.cli,
        ['workflow', 'show', '--address', system.temporal.address, '-w', workflowId, '-o', 'json', ...codec],
        { timeout: 30_000, maxBuffer: 16 * 1024 * 1024 },
      );
      return stdout;
    };
    const sealed = await show();
    expect(sealed).toContain(workflowId);
    expect(payloadTexts(sealed)).toContain('binary/encrypted');
    expect(leaks(Buffer.from(sealed + payloadTexts(sealed)), [student])).toEqual([]);

    const { url, token } = system.codec!;
    for (const endpoint of [url, `${url}/{namespace}`]) {
      const decoded = payloadTexts(
        await show('--codec-endpoint', endpoint, '--codec-auth', `Bearer ${token}`),
      );
      expect(decoded).not.toContain('binary/encrypted');
      expect(decoded).toContain(student.email);
      expect(decoded).toContain(student.name);
    }
    // A wrong token is refused by the codec server (401): the CLI retries until its deadline and fails,
    // printing nothing of the student.
    const refused = await show('--codec-endpoint', url, '--codec-auth', 'Bearer not-the-token').then(
      () => 'succeeded',
      (err: { stdout?: string; stderr?: string }) => `${err.stdout ?? ''}${err.stderr ?? ''}`,
    );
    expect(refused).not.toBe('succeeded');
    expect(leaks(Buffer.from(refused), [student])).toEqual([]);
  }, 60_000);
});

describe('without the payload codec (negative control), the same search finds the student', () => {
  const system = useSystem({ persist: true, payloadCodec: false });

  it('in the database after a payment of each provider', async () => {
    const students: Student[] = [];
    for (const provider of ['razorpay', 'stripe'] as const) {
      const student = newStudent(`privacy-control-${provider}`);
      students.push(student);
      const paymentId = await buy(system, provider, student);
      expect(await outcome(system, provider, paymentId)).toBe('completed');
    }
    const found = leaks(databaseBytes(system), students);
    // Razorpay's payment carries no name; Stripe's checkout carries all three.
    const [razorpay, stripe] = students as [Student, Student];
    expect(found).toEqual(
      expect.arrayContaining([razorpay.email, razorpay.phone, stripe.email, stripe.name, stripe.phone]),
    );
  }, 60_000);
});
