import type { AccessEvent } from '../../src/domain/access-event';
import { accessDetails, accessSummary } from '../../src/webhook/start-access';
import type { AccessStatus } from '../../src/workflows/access-messages';
import { renderAccessDetails } from '../../src/workflows/access';
import { paymentDetails, paymentSummary, renderCurrentDetails } from '../../src/workflows/details';
import { codeSpan, escapeMarkdown } from '../../src/workflows/markdown';
import type { EnrollmentStatus } from '../../src/workflows/messages';
import { paymentEvent } from '../helpers/payments';

/**
 * What the Temporal Web UI shows outside the (encrypted) payloads: the static summary and details and
 * the current details. No student name, email or phone in clear, and whatever came from outside our
 * code renders as the text it is, not as Markdown or HTML.
 */

const LINK = '[Resolve here](https://evil.example)';
const IMG = '<img src=x onerror=alert(1)>';
const email = 'asha.verma@example.com';
const phone = '+919876543210';

/** Markdown that would render as a link, an image, HTML or an autolink: none may appear unescaped. */
function expectInert(markdown: string): void {
  expect(markdown).not.toMatch(/(^|[^\\])\]\(/m); // a link or image: `](` with an unescaped `]`
  expect(markdown).not.toMatch(/(^|[^\\])<img/im); // raw HTML
  expect(markdown).not.toMatch(/(^|[^\\])<[a-z/!?]/im); // any tag
  expect(markdown).not.toMatch(/https?:\/\//); // an autolink literal (`https\://` is text)
}

function expectNoContacts(text: string): void {
  for (const pii of [email, 'asha.verma', phone, '9876543210', 'Asha', 'Verma']) {
    expect(text).not.toContain(pii);
  }
}

function enrollmentStatus(overrides: Partial<EnrollmentStatus> = {}): EnrollmentStatus {
  const pending = { status: 'pending' as const, attempts: 0 };
  return {
    workflowId: 'payment-razorpay-pay_Details000001',
    provider: 'razorpay',
    paymentId: 'pay_Details000001',
    state: 'needs_review',
    steps: { confirm: pending, details: pending, enroll: pending, welcome: pending, crm: pending },
    reviews: [],
    ignoredSignals: [],
    student: { email, name: LINK, phone },
    ...overrides,
  };
}

describe('escapeMarkdown', () => {
  it('backslash-escapes Markdown punctuation, so links, images, HTML and emphasis render as text', () => {
    expect(escapeMarkdown(LINK)).toBe('\\[Resolve here\\]\\(https\\://evil.example\\)');
    expect(escapeMarkdown(IMG)).toBe('\\<img src=x onerror=alert\\(1\\)\\>');
    expect(escapeMarkdown('*a* _b_ `c` # d | e ~f~ !g {h} +i -j \\k &amp;')).toBe(
      '\\*a\\* \\_b\\_ \\`c\\` \\# d \\| e \\~f\\~ \\!g \\{h\\} +i -j \\\\k \\&amp;',
    );
  });

  it('escapes what opens a block at the start, and GFM autolinks, leaving ids and times readable', () => {
    expect(escapeMarkdown('- item')).toBe('\\- item');
    expect(escapeMarkdown('+ item')).toBe('\\+ item');
    expect(escapeMarkdown('> quote')).toBe('\\> quote');
    expect(escapeMarkdown('12. item')).toBe('12\\. item');
    expect(escapeMarkdown('see www.evil.example or http://evil.example')).toBe(
      'see www\\.evil.example or http\\://evil.example',
    );
    expect(escapeMarkdown('course-ml-101 paid 2026-11-20T10:00:00.000Z')).toBe(
      'course-ml-101 paid 2026-11-20T10:00:00.000Z',
    );
  });

  it('keeps one line: newlines and runs of whitespace become one space', () => {
    expect(escapeMarkdown('first\n\n# heading\r\n- item\t end ')).toBe('first \\# heading - item end');
  });

  it('cuts at 160 characters before escaping, so no escape is cut in half', () => {
    const escaped = escapeMarkdown('*'.repeat(400));
    expect(escaped).toBe('\\*'.repeat(160));
    expect(escapeMarkdown('x'.repeat(400))).toHaveLength(160);
  });

  it('a code span cannot be ended early: backticks are replaced', () => {
    expect(codeSpan('enroll-1')).toBe('`enroll-1`');
    expect(codeSpan('a`](https://evil.example)`b')).toBe("`a'](https://evil.example)'b`");
  });
});

describe('the static summary and details of a payment', () => {
  it('the summary is course · amount · provider and payment id: nothing of the student', () => {
    const payment = paymentEvent({ student: { email, name: 'Asha Verma', phone } });
    const summary = paymentSummary(payment);
    expect(summary).toBe(`course-ml-101 · ₹499.00 · razorpay ${payment.paymentId}`);
    expectNoContacts(summary);
    expect(paymentSummary({ ...payment, courseId: undefined }, 'reconciliation')).toBe(
      `no course · ₹499.00 · razorpay ${payment.paymentId} · found by reconciliation (no webhook started it)`,
    );
  });

  it('the details have no name, and the email and phone masked only', () => {
    const details = paymentDetails(paymentEvent({ student: { email, name: 'Asha Verma', phone } }));
    expectNoContacts(details);
    expect(details).not.toMatch(/Student|Name/);
    expect(details).toContain('| Email | a\\*\\*\\*@example.com |');
    expect(details).toContain('| Phone | \\+91\\*\\*\\*\\*\\*\\*3210 |');
    expect(details).toContain('| Course | course-ml-101 |');
  });

  it.each([LINK, IMG])('buyer-supplied text renders as text: %s', (hostile) => {
    const payment = paymentEvent({
      student: { email: `${hostile}@example.com`, name: hostile, phone: hostile },
      courseId: hostile,
      eventId: hostile,
    });
    for (const markdown of [paymentSummary(payment), paymentDetails(payment)]) {
      expectInert(markdown);
      // One row per line: a newline or a pipe in a value cannot add a row or a cell.
      expect(
        markdown.split('\n').every((l) => !l.startsWith('|') || l.match(/(?<!\\)\|/g)!.length === 3),
      ).toBe(true);
    }
    expect(paymentSummary(payment)).not.toContain(hostile);
  });

  it('a currency Intl does not know is escaped in the amount', () => {
    const summary = paymentSummary(paymentEvent({ currency: '<B>' }));
    expect(summary).toContain('\\<B\\> 499.00');
    expectInert(summary);
  });
});

describe('current details', () => {
  it('escape review reasons, errors, results, titles, reviewers and notes, and mask contacts in them', () => {
    const status = enrollmentStatus({
      openReview: {
        id: 'enroll-2',
        kind: 'failure',
        step: 'enroll',
        reason: `LmsRejected: user ${email} (${phone}) refused: ${LINK}`,
        openedAt: '2026-11-20T10:00:00.000Z',
      },
      purchase: {
        productId: 'course-ml-101',
        title: IMG,
        courses: ['course-ml-101'],
        amountMinor: 499_00,
        currency: 'INR',
        overriddenBy: LINK,
      },
      steps: {
        confirm: { status: 'succeeded', attempts: 1, result: { verdict: 'grant', product: IMG } },
        details: { status: 'succeeded', attempts: 0 },
        enroll: { status: 'failed', attempts: 3, lastError: `LMS said\n\n# ${IMG} for ${email}` },
        welcome: { status: 'skipped', attempts: 0, skippedBecause: LINK },
        crm: { status: 'pending', attempts: 0 },
      },
      reviews: [
        {
          id: 'enroll-1',
          kind: 'failure',
          step: 'enroll',
          reason: 'first',
          openedAt: '2026-11-20T09:00:00.000Z',
          resolution: { action: 'retry', reviewer: IMG, note: `${LINK}\n- call ${phone}`, resolvedAt: 'x' },
        },
      ],
    });
    const markdown = renderCurrentDetails(status);
    expectInert(markdown);
    expectNoContacts(markdown);
    expect(markdown).toContain('a\\*\\*\\*@example.com');
    expect(markdown).toContain('**Needs review** `enroll-2` (enroll, since 2026-11-20T10:00:00.000Z): ');
    expect(markdown).toContain(
      '`{"reviewId":"enroll-2","action":"retry|skip|abort","reviewer":"...","note":"..."}`',
    );
    // Every table row keeps its four cells; no line of outside text starts a heading or a list.
    const rows = markdown.split('\n').filter((l) => l.startsWith('| '));
    expect(rows).toHaveLength(7);
    for (const row of rows) expect(row.match(/(?<!\\)\|/g)).toHaveLength(5);
    expect(markdown.split('\n').filter((l) => /^(#|- (?!enroll-1: retry by))/.test(l))).toEqual([]);
    expect(markdown).toContain('- enroll-1: retry by \\<img');
  });
});

describe('an access change in the Web UI', () => {
  const event: AccessEvent = {
    provider: 'stripe',
    kind: 'dispute',
    causeId: 'dp_Details000001',
    paymentId: 'pi_Details000001',
    status: IMG,
    eventType: 'charge.dispute.created',
    eventId: LINK,
    eventCreatedAt: '2026-11-20T10:00:00.000Z',
  };

  it('summary and details carry ids and the event, escaped', () => {
    expect(accessSummary({ ...event, status: 'needs_response' })).toBe(
      'Dispute dp_Details000001 of pi_Details000001 · stripe · needs\\_response',
    );
    expectInert(accessSummary(event));
    expectInert(accessDetails(event));
  });

  it('current details escape the provider words and review reasons, and mask contacts in them', () => {
    const pending = { status: 'pending' as const, attempts: 0 };
    const status: AccessStatus = {
      workflowId: 'dispute-stripe-dp_Details000001',
      provider: 'stripe',
      kind: 'dispute',
      causeId: 'dp_Details000001',
      paymentId: 'pi_Details000001',
      state: 'needs_review',
      confirmed: { state: 'dispute_open', detail: `dispute is ${IMG}` },
      timeline: [],
      steps: {
        confirm: pending,
        grant: pending,
        decide: pending,
        lms: pending,
        crm: pending,
        notify: pending,
      },
      openReview: {
        id: 'crm-1',
        kind: 'failure',
        step: 'crm',
        reason: `CrmRejected: contact ${email} ${LINK}`,
        openedAt: '2026-11-20T10:00:00.000Z',
      },
      reviews: [],
      ignoredSignals: [],
      events: [],
    };
    const markdown = renderAccessDetails(status);
    expectInert(markdown);
    expectNoContacts(markdown);
    expect(markdown).toContain('**Review crm-1:** CrmRejected: contact a\\*\\*\\*@example.com');
  });
});
