/**
 * Reads docs/operations.md the way the runbook test needs it: the fenced blocks tagged
 * `ops-test=<scenario>` with their commands (backslash continuations joined, comments dropped), and
 * every command the doc quotes elsewhere, so an untested command in the doc fails the test.
 */

export interface DocBlock {
  scenario: string;
  /** 1-based line of the opening fence, for error messages. */
  line: number;
  commands: string[];
}

export interface Runbook {
  blocks: DocBlock[];
  /** `temporal ...` / `npm run ops ...` lines in fenced blocks without an ops-test tag. */
  untaggedCommands: string[];
  /** Inline code spans in the prose that start with `temporal `. */
  inlineTemporal: string[];
}

const FENCE = /^\s*```/;
const TAG = /\bops-test=([a-z0-9-]+)/;
export const isCommand = (line: string) => /^(temporal|npm run ops)\b/.test(line.trim());

function joinContinuations(lines: string[]): string[] {
  const commands: string[] = [];
  let current = '';
  for (const raw of lines) {
    const line = raw.trim();
    if (!current && (line === '' || line.startsWith('#'))) continue;
    if (line.endsWith('\\')) {
      current += `${line.slice(0, -1).trimEnd()} `;
      continue;
    }
    commands.push(current + line);
    current = '';
  }
  if (current) commands.push(current.trimEnd());
  return commands;
}

export function parseRunbook(markdown: string): Runbook {
  const lines = markdown.split('\n');
  const blocks: DocBlock[] = [];
  const untaggedCommands: string[] = [];
  const inlineTemporal: string[] = [];
  for (let i = 0; i < lines.length; i++) {
    const line = lines[i]!;
    if (!FENCE.test(line)) {
      for (const [, code] of line.matchAll(/`([^`]+)`/g)) {
        if (code!.startsWith('temporal ')) inlineTemporal.push(code!);
      }
      continue;
    }
    const info = line.trim().slice(3);
    const body: string[] = [];
    let j = i + 1;
    while (j < lines.length && !FENCE.test(lines[j]!)) body.push(lines[j++]!);
    const tag = TAG.exec(info);
    if (tag) blocks.push({ scenario: tag[1]!, line: i + 1, commands: joinContinuations(body) });
    else untaggedCommands.push(...joinContinuations(body).filter(isCommand));
    i = j;
  }
  return { blocks, untaggedCommands, inlineTemporal };
}

const PLACEHOLDER = /<([A-Z_]+)>/g;

export function placeholdersOf(command: string): string[] {
  return [...command.matchAll(PLACEHOLDER)].map((m) => m[1]!);
}

export function substitute(command: string, values: Record<string, string>): string {
  return command.replace(PLACEHOLDER, (_, name: string) => {
    const value = values[name];
    if (value === undefined) throw new Error(`no value for placeholder <${name}> in: ${command}`);
    return value;
  });
}

/** Whether an inline `temporal ...` span is a tested command: a prefix of one, or one with its placeholders filled. */
export function quotesTestedCommand(inline: string, tested: readonly string[]): boolean {
  return tested.some((command) => {
    if (command.startsWith(inline)) return true;
    const pattern = command
      .split(PLACEHOLDER)
      .map((part, i) => (i % 2 === 1 ? '\\S+' : part.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')))
      .join('');
    return new RegExp(`^${pattern}$`).test(inline);
  });
}
