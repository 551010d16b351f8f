import { execFileSync } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { missingV8Flags, V8_FLAGS, v8FlagsForScript, warnOfMissingV8Flags } from '../../src/runtime/v8-flags';

const ROOT = path.resolve(__dirname, '..', '..');
const pkg = JSON.parse(fs.readFileSync(path.join(ROOT, 'package.json'), 'utf8')) as {
  scripts: Record<string, string>;
};

describe('V8 flags of the long-running processes', () => {
  it('finds the flags of each entry point, compiled or not, and none for anything else', () => {
    expect(v8FlagsForScript('src/worker.ts')).toEqual(V8_FLAGS.worker);
    expect(v8FlagsForScript('/app/dist/worker.js')).toEqual(V8_FLAGS.worker);
    expect(v8FlagsForScript(path.join(ROOT, 'src/webhook/main.ts'))).toEqual(V8_FLAGS.webhook);
    expect(v8FlagsForScript('dist/webhook/main.js')).toEqual(V8_FLAGS.webhook);
    expect(v8FlagsForScript('src/sandbox/main.ts')).toEqual([]);
    expect(v8FlagsForScript('bench/ceiling-worker.ts')).toEqual([]);
  });

  it('starts the npm scripts of the worker and the receiver with them', () => {
    expect(pkg.scripts.worker).toBe(`node ${V8_FLAGS.worker.join(' ')} --import tsx src/worker.ts`);
    expect(pkg.scripts.webhook).toBe(`node ${V8_FLAGS.webhook.join(' ')} --import tsx src/webhook/main.ts`);
  });

  it('names what a launcher left out, and warns of it once', () => {
    expect(missingV8Flags('worker', ['--optimize-for-size', '--import', 'tsx'])).toEqual([]);
    expect(missingV8Flags('worker', ['--import', 'tsx'])).toEqual(['--optimize-for-size']);
    expect(missingV8Flags('webhook', ['--optimize-for-size'])).toEqual(['--heap-growing-percent=20']);
    const warn = jest.fn();
    warnOfMissingV8Flags({ warn } as never, 'webhook');
    // Jest's own process was not started with the receiver's flags.
    expect(warn).toHaveBeenCalledTimes(1);
    expect(warn.mock.calls[0][0]).toEqual(expect.objectContaining({ missing: V8_FLAGS.webhook }));
  });

  it('are flags this node accepts on its command line', () => {
    // node refuses a flag it does not know (`node: bad option`), so a typo fails here.
    const out = execFileSync(
      process.execPath,
      [...V8_FLAGS.worker, ...V8_FLAGS.webhook, '-p', 'JSON.stringify(process.execArgv)'],
      { encoding: 'utf8' },
    );
    expect(JSON.parse(out)).toEqual([...V8_FLAGS.worker, ...V8_FLAGS.webhook, '-p', expect.any(String)]);
  });
});
