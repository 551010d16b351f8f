/** Plain-text rendering shared by the commands: aligned tables, ages, one-line text (money: src/domain/money.ts). */

export interface Column<Row> {
  header: string;
  value: (row: Row) => string;
  /** Longer cells are cut with an ellipsis (the JSON output always carries the full text). */
  max?: number;
}

export function oneLine(text: string, max = Infinity): string {
  const flat = text.replace(/\s+/g, ' ').trim();
  return flat.length > max ? `${flat.slice(0, Math.max(0, max - 1))}…` : flat;
}

export function table<Row>(rows: readonly Row[], columns: ReadonlyArray<Column<Row>>, indent = ''): string {
  const cells = rows.map((row) => columns.map((c) => oneLine(c.value(row), c.max)));
  const widths = columns.map((c, i) => Math.max(c.header.length, ...cells.map((r) => r[i]!.length)));
  const line = (values: string[]) =>
    indent +
    values
      .map((v, i) => (i === values.length - 1 ? v : v.padEnd(widths[i]!)))
      .join('  ')
      .trimEnd();
  return [line(columns.map((c) => c.header)), ...cells.map(line)].join('\n') + '\n';
}

/** 0 s, 42 s, 3 m 12 s, 2 h 5 m, 3 d 4 h: precise enough to sort a queue by urgency. */
export function formatAge(ms: number): string {
  const s = Math.max(0, Math.floor(ms / 1000));
  if (s < 60) return `${s}s`;
  const m = Math.floor(s / 60);
  if (m < 60) return `${m}m ${s % 60}s`;
  const h = Math.floor(m / 60);
  if (h < 48) return `${h}h ${m % 60}m`;
  return `${Math.floor(h / 24)}d ${h % 24}h`;
}

export function ageSince(iso: string | Date | undefined, now: Date): number | undefined {
  if (iso === undefined) return undefined;
  const at = iso instanceof Date ? iso.getTime() : Date.parse(iso);
  return Number.isNaN(at) ? undefined : now.getTime() - at;
}

export function json(value: unknown): string {
  return `${JSON.stringify(value, null, 2)}\n`;
}
