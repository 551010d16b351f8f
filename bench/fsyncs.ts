/**
 * Durability evidence for the persistence comparison: how many fsync-family system calls the
 * Temporal server makes per workflow start. A start is acknowledged only once it is committed; if
 * every commit is followed by an fsync (rollback journal, or WAL with `synchronous=full`), the start is
 * on the disk when the caller hears of it. Fewer than one per start (WAL with `synchronous=normal`)
 * means commits wait in the page cache for a checkpoint: lost to a power loss.
 *
 * Counted with strace attached to every thread of the running server for exactly `starts` starts,
 * after the timed measurements (strace slows the server). Where strace is missing or ptrace is not
 * permitted, the figure is reported as unavailable rather than guessed.
 */
import { execFileSync, spawn } from 'node:child_process';
import { randomUUID } from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';
import type { Client } from '@temporalio/client';
import { sleep } from './procs';
import { TASK_QUEUES } from './system';

export interface FsyncCount {
  starts: number;
  /** fsync + fdatasync + sync_file_range + msync calls over those starts. */
  syncCalls?: number;
  perStart?: number;
  /** Why there is no count. */
  unavailable?: string;
}

const SYNC_CALLS = ['fsync', 'fdatasync', 'sync_file_range', 'msync'];

export async function countFsyncsPerStart(
  serverPid: number,
  client: Client,
  outFile: string,
  starts = 400,
  concurrency = 8,
): Promise<FsyncCount> {
  try {
    execFileSync('strace', ['-V'], { stdio: 'ignore' });
  } catch {
    return { starts, unavailable: 'strace not installed' };
  }
  // Every thread, or a Go runtime thread that does the syncing may be missed; -f follows new ones.
  const threads = fs.readdirSync(`/proc/${serverPid}/task`);
  fs.mkdirSync(path.dirname(outFile), { recursive: true });
  const strace = spawn(
    'strace',
    ['-f', '-qq', '-o', outFile, '-e', `trace=${SYNC_CALLS.join(',')}`, ...threads.flatMap((t) => ['-p', t])],
    { stdio: ['ignore', 'ignore', 'pipe'] },
  );
  let stderr = '';
  strace.stderr.on('data', (chunk: Buffer) => (stderr += chunk.toString()));
  const exited = new Promise<number | null>((resolve) => strace.once('exit', resolve));
  // Attaching takes a moment; the main thread's attach failing means no permission at all.
  await sleep(1500);
  if (strace.exitCode !== null || !fs.existsSync(outFile)) {
    await exited;
    return { starts, unavailable: `strace could not attach: ${firstLine(stderr)}` };
  }
  let next = 0;
  await Promise.all(
    Array.from({ length: concurrency }, async () => {
      while (next < starts) {
        next += 1;
        await client.workflow.start('noopWorkflow', {
          taskQueue: TASK_QUEUES.noop,
          workflowId: `fsync-${randomUUID()}`,
        });
      }
    }),
  );
  strace.kill('SIGINT');
  await exited;
  const calls = fs
    .readFileSync(outFile, 'utf8')
    .split('\n')
    .filter((line) => SYNC_CALLS.some((call) => line.includes(`${call}(`))).length;
  return { starts, syncCalls: calls, perStart: calls / starts };
}

const firstLine = (text: string) => text.split('\n').find((l) => l.trim()) ?? 'no output';
