import { execFile } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { promisify } from 'node:util';
import { chromium, type Browser, type BrowserContext, type Page } from 'playwright-core';
import { sendDeliveries } from '../../src/tools/deliver';
import { newPaymentId } from '../../src/providers';
import { eventually } from '../helpers/eventually';
import { startSystem, type System } from '../helpers/system';

/**
 * What an operator does in the Temporal Web UI (2.54), in a real browser: find the payments in manual
 * review with `EnrollmentState="needs_review"`, open one, and read its summary, current details and
 * input, decoded through the codec server as `npm run dev` configures it; and what a browser without
 * the codec server's token sees of the same payment: encoded payloads only.
 *
 * The browser is the machine's Chromium (`scripts/browser-deps.sh` finds or installs Debian's
 * package; playwright-core downloads nothing) driven headless against the system's dev server.
 * On failure a screenshot and the page's HTML are written to `.data/`; the error message names them.
 */
const run = promisify(execFile);
const root = path.resolve(__dirname, '../..');
const artefacts = path.join(root, '.data');
/** The README's pictures. Rewritten only when missing or with UPDATE_DOCS_IMAGES=1, so a test run leaves git clean. */
type Screenshot = 'web-ui-needs-review.png' | 'web-ui-decoded-input.png';
const viewport = { width: 1400, height: 900 };
const NEEDS_REVIEW = 'EnrollmentState="needs_review"';

// No GPU, no sandbox (root in a container), and nothing that phones home: this network is closed.
const chromiumArgs = [
  '--no-sandbox',
  '--disable-gpu',
  '--disable-quic',
  '--no-first-run',
  '--disable-background-networking',
  '--disable-component-update',
  '--disable-sync',
];

let system: System | undefined;
let browser: Browser | undefined;

beforeAll(async () => {
  // First, so that a missing browser fails at once, with the script's own explanation.
  const executablePath = await findChromium();
  system = await startSystem({ webUi: true, codecServer: true });
  browser = await chromium.launch({ executablePath, headless: true, args: chromiumArgs, timeout: 20_000 });
}, 90_000);

afterAll(async () => {
  await browser?.close().catch(() => undefined);
  await system?.stop();
}, 30_000);

describe('Temporal Web UI', () => {
  it('lists a payment in review under EnrollmentState="needs_review" and shows its summary and current details', async () => {
    const sys = system!;
    const uiUrl = sys.temporal.uiUrl;
    if (!uiUrl) throw new Error('startSystem({ webUi: true }) returned no temporal.uiUrl');

    // One payment the LMS rejects for good (-> manual review), and one that completes: the filter
    // must show the first and not the second.
    const stuck = newPaymentId('razorpay');
    const done = newPaymentId('razorpay');
    const stuckId = `payment-razorpay-${stuck}`;
    const doneId = `payment-razorpay-${done}`;
    const stuckEmail = `ui-review-${stuck}@example.com`;
    await sys.setFaults({ lms: { failEmails: [stuckEmail] } });
    const deliveries = await Promise.all([
      sendDeliveries({
        provider: 'razorpay',
        url: sys.receiver.url,
        secret: sys.secrets.razorpay,
        sandboxUrl: sys.sandbox.url,
        fixture: { paymentId: stuck, email: stuckEmail, name: 'Meera Iyer', courseId: 'course-ml-101' },
      }),
      sendDeliveries({
        provider: 'razorpay',
        url: sys.receiver.url,
        secret: sys.secrets.razorpay,
        sandboxUrl: sys.sandbox.url,
        fixture: {
          paymentId: done,
          email: `ui-ok-${done}@example.com`,
          courseId: 'course-ds-301',
          amountMinor: 1_499_900,
        },
      }),
    ]);
    expect(deliveries.flat().map((d) => d.status)).toEqual([200, 200]);
    await sys.client.workflow.getHandle(doneId).result();

    // What the UI will list comes from visibility: wait until it has the review state.
    await eventually(
      async () => {
        const ids: string[] = [];
        for await (const wf of sys.client.workflow.list({
          query: `${NEEDS_REVIEW} AND PaymentId="${stuck}"`,
        }))
          ids.push(wf.workflowId);
        return ids.length > 0;
      },
      30_000,
      250,
    );
    const summary = await (await sys.client.workflow.getHandle(stuckId).describe()).staticSummary();
    // Set when the workflow starts, from the webhook alone: payment.captured names no product the
    // merchant set, so what was bought shows in the current details once the provider confirmed it.
    expect(summary).toBe(`no course · ₹4,999.00 · razorpay ${stuck}`);
    // The dev server answers gRPC before its UI server is necessarily up.
    await eventually(async () => (await fetch(`${uiUrl}/api/v1/settings`)).ok, 20_000, 200);

    await withPage(browser!, async (page) => {
      // The list, filtered through the URL's `query` parameter (what the UI itself writes there).
      await page.goto(`${uiUrl}/namespaces/default/workflows?query=${encodeURIComponent(NEEDS_REVIEW)}`, {
        waitUntil: 'domcontentloaded',
      });
      // The UI parsed the query into its filter chip...
      await page.getByTitle('EnrollmentState = "needs_review"').waitFor();
      // ...and lists the stuck payment, and only it (the completed one is filtered out).
      // Temporal UI 2.54's list has no Summary column (not even among the configurable ones).
      const link = page.getByRole('link', { name: stuckId, exact: true });
      await link.waitFor();
      expect(await page.getByTestId('workflows-summary-configurable-table-row').count()).toBe(1);
      expect(await page.getByRole('link', { name: doneId, exact: true }).count()).toBe(0);

      await link.click();
      await page.waitForURL(new RegExp(`/namespaces/default/workflows/${stuckId}/[0-9a-f-]+/`));
      const heading = page.getByTestId('workflow-id-heading');
      await heading.waitFor();
      expect(await heading.innerText()).toContain(stuckId);

      // Summary and current details (markdown) are on the "User Metadata" tab, each rendered in an iframe.
      await page.getByRole('tab', { name: 'User Metadata' }).click();
      const summaryFrame = page.frameLocator('#user-metadata-summary');
      await summaryFrame.getByText(summary!).waitFor();
      const detailsFrame = page.frameLocator('#user-metadata-current-details');
      await detailsFrame.getByText('Needs review').waitFor();
      const details = await detailsFrame.locator('body').innerText();
      expect(details).toContain('State: needs_review');
      expect(details).toMatch(/Needs review enroll-1 \(enroll, since .+\): LmsRejected/);
      expect(details).toContain('"reviewId":"enroll-1"');
      expect(details).toContain('Bought: Machine Learning 101 (course-ml-101: course-ml-101) · ₹4,999.00');
      expect(details).toMatch(/LMS enrollment\s+failed\s+1/);
      expect(details).toMatch(/WhatsApp welcome\s+pending\s+0/);
      await saveScreenshot(page, 'web-ui-needs-review.png');

      // The input, decoded by the codec server: the operator sees who paid.
      await page.getByRole('tab', { name: 'Timeline', exact: true }).click();
      await page.getByText(stuckEmail).first().waitFor();
      expect(await page.locator('#content').getByText('Codec Server could not connect').count()).toBe(0);

      await saveScreenshot(page, 'web-ui-decoded-input.png');
    });

    // A browser whose codec endpoint lacks the token: the codec server refuses it (401), and the UI
    // shows the payloads as Temporal stores them, sealed.
    const codec = sys.codec!;
    await withPage(
      browser!,
      async (page) => {
        await page.goto(`${uiUrl}/namespaces/default/workflows/${stuckId}`, {
          waitUntil: 'domcontentloaded',
        });
        await page.getByTestId('workflow-id-heading').waitFor();
        await page.locator('#content').getByText('Codec Server could not connect').waitFor();
        expect(refused.length).toBeGreaterThan(0);
        const text = await page.locator('body').innerText();
        expect(text).not.toContain(stuckEmail);
        expect(text).not.toContain('Meera');
      },
      async (context) => {
        await context.route(`${codec.url}/**`, async (route) => {
          const url = route.request().url().replace(`/auth/${codec.token}`, '');
          try {
            const answer = await route.fetch({ url });
            if (answer.status() === 401) refused.push(url);
            await route.fulfill({ response: answer });
          } catch (err) {
            // A request still in flight when the steps end and the page closes has nowhere to go.
            if (!/disposed|closed/i.test(String(err))) throw err;
          }
        });
      },
    );
  }, 90_000);
});

const refused: string[] = [];

async function findChromium(): Promise<string> {
  try {
    const { stdout } = await run('bash', [path.join(root, 'scripts/browser-deps.sh')], { timeout: 80_000 });
    const found = stdout.trim().split('\n').pop();
    if (!found) throw new Error('scripts/browser-deps.sh printed no path');
    return found;
  } catch (err) {
    const stderr = (err as { stderr?: string }).stderr?.trim();
    throw new Error(`no Chromium for the browser test: ${stderr || String(err)}`, { cause: err });
  }
}

/**
 * Runs `steps` in a fresh page. Requests that would leave the machine are refused (and reported)
 * rather than left to hang; on failure the page is saved to `.data/` and the error says where.
 */
async function withPage(
  b: Browser,
  steps: (page: Page) => Promise<void>,
  prepare?: (context: BrowserContext) => Promise<void>,
): Promise<void> {
  const context: BrowserContext = await b.newContext({
    viewport,
    deviceScaleFactor: 1,
    colorScheme: 'light',
  });
  await prepare?.(context);
  const notes: string[] = [];
  await context.route(
    (url) => !['127.0.0.1', 'localhost', '[::1]'].includes(url.hostname),
    async (route) => {
      notes.push(`blocked external request ${route.request().url()}`);
      await route.abort('blockedbyclient');
    },
  );
  const page = await context.newPage();
  page.setDefaultTimeout(15_000);
  page.on('pageerror', (err) => notes.push(`page error: ${err.message}`));
  page.on('console', (msg) => {
    if (msg.type() === 'error') notes.push(`console error: ${msg.text()}`);
  });
  try {
    await steps(page);
  } catch (err) {
    const saved = await saveFailure(page);
    const detail = [`page: ${page.url()}`, ...saved, ...notes].join('\n  ');
    if (err instanceof Error) {
      // Jest prints the stack, which already holds the message: extend both.
      const message = `${err.message}\n  ${detail}`;
      if (err.stack) err.stack = err.stack.replace(err.message, message);
      err.message = message;
      throw err;
    }
    throw new Error(`${String(err)}\n  ${detail}`, { cause: err });
  } finally {
    await context.close().catch(() => undefined);
  }
}

async function saveFailure(page: Page): Promise<string[]> {
  fs.mkdirSync(artefacts, { recursive: true });
  const base = path.join(artefacts, `web-ui-failure-${new Date().toISOString().replace(/[:.]/g, '-')}`);
  const saved: string[] = [];
  try {
    await page.screenshot({ path: `${base}.png`, timeout: 5_000 });
    saved.push(`screenshot: ${base}.png`);
    fs.writeFileSync(`${base}.html`, await page.content());
    saved.push(`html: ${base}.html`);
  } catch (err) {
    saved.push(`could not save the page: ${String(err)}`);
  }
  return saved;
}

async function saveScreenshot(page: Page, name: Screenshot): Promise<void> {
  const runScreenshot = path.join(artefacts, name);
  const docsScreenshot = path.join(root, 'docs/images', name);
  fs.mkdirSync(artefacts, { recursive: true });
  const png = await page.screenshot({ path: runScreenshot });
  // A PNG of exactly the viewport (IHDR width and height at bytes 16..23).
  expect(png.subarray(1, 4).toString('latin1')).toBe('PNG');
  expect([png.readUInt32BE(16), png.readUInt32BE(20)]).toEqual([viewport.width, viewport.height]);
  if (process.env.UPDATE_DOCS_IMAGES === '1' || !fs.existsSync(docsScreenshot)) {
    fs.mkdirSync(path.dirname(docsScreenshot), { recursive: true });
    fs.copyFileSync(runScreenshot, docsScreenshot);
  }
}
