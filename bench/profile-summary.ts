/**
 * Summarises a V8 `.cpuprofile` (from `node --cpu-prof`): self time by function and by package.
 * Usage: tsx bench/profile-summary.ts <file.cpuprofile> [top N]
 */
import fs from 'node:fs';

interface ProfileNode {
  id: number;
  callFrame: { functionName: string; url: string; lineNumber: number };
  children?: number[];
}
interface Profile {
  nodes: ProfileNode[];
  samples: number[];
  timeDeltas: number[];
  startTime: number;
  endTime: number;
}

function area(url: string): string {
  if (!url) return '(native/gc/idle)';
  const nm = /node_modules\/((?:@[^/]+\/)?[^/]+)/.exec(url);
  if (nm) return nm[1]!;
  if (url.startsWith('node:')) return url;
  const src = /\/(src|bench|scripts)\/(.+)$/.exec(url);
  return src ? `${src[1]}/${src[2]}` : url;
}

export function summarise(file: string, top = 25): string {
  const profile = JSON.parse(fs.readFileSync(file, 'utf8')) as Profile;
  const byId = new Map(profile.nodes.map((n) => [n.id, n]));
  const selfUs = new Map<number, number>();
  profile.samples.forEach((id, i) => selfUs.set(id, (selfUs.get(id) ?? 0) + (profile.timeDeltas[i] ?? 0)));
  const total = profile.endTime - profile.startTime;
  const byFunction = new Map<string, number>();
  const byArea = new Map<string, number>();
  for (const [id, us] of selfUs) {
    const { functionName, url, lineNumber } = byId.get(id)!.callFrame;
    const fn = `${functionName || '(anonymous)'} ${area(url)}:${lineNumber + 1}`;
    const key = functionName === '(idle)' ? '(idle)' : fn;
    byFunction.set(key, (byFunction.get(key) ?? 0) + us);
    const a =
      functionName === '(idle)' ? '(idle)' : functionName === '(garbage collector)' ? '(gc)' : area(url);
    byArea.set(a, (byArea.get(a) ?? 0) + us);
  }
  const rows = (m: Map<string, number>) =>
    [...m.entries()]
      .sort((a, b) => b[1] - a[1])
      .slice(0, top)
      .map(
        ([k, us]) =>
          `${((100 * us) / total).toFixed(1).padStart(5)} %  ${(us / 1000).toFixed(0).padStart(7)} ms  ${k}`,
      )
      .join('\n');
  return `${file}: ${(total / 1e6).toFixed(1)} s\n-- by package / file\n${rows(byArea)}\n-- by function\n${rows(byFunction)}\n`;
}

if (require.main === module) {
  const [file, top] = process.argv.slice(2);
  if (!file) throw new Error('usage: tsx bench/profile-summary.ts <file.cpuprofile> [top]');
  console.log(summarise(file, Number(top ?? 25)));
}
