/** Health of one checked thing; `error` makes `status` exit non-zero, `warn` is shown but does not. */
export type Health = 'ok' | 'warn' | 'error';

const RANK: Record<Health, number> = { ok: 0, warn: 1, error: 2 };

/** The worst of some healths (`ok` for none). */
export function worst(...healths: Health[]): Health {
  return healths.reduce<Health>((a, b) => (RANK[b] > RANK[a] ? b : a), 'ok');
}

/** Where the CLI writes; tests capture it, `bin/cli.ts` binds it to the process. */
export interface Io {
  out(text: string): void;
  err(text: string): void;
  /** Whether a person can answer a question (stdin is a TTY). */
  readonly interactive: boolean;
  /** Asks a yes/no question on stderr and reads the answer from stdin. */
  confirm(question: string): Promise<boolean>;
  /** Whether to colour the human output. */
  readonly color: boolean;
}

const MARK: Record<Health, string> = { ok: 'OK', warn: 'WARN', error: 'FAIL' };
const COLOR: Record<Health, string> = { ok: '\u001b[32m', warn: '\u001b[33m', error: '\u001b[31m' };

/** The health label, coloured on terminals. */
export function mark(h: Health, color: boolean): string {
  return color ? `${COLOR[h]}${MARK[h]}\u001b[0m` : MARK[h];
}

const visible = (s: string): number => s.replace(/\u001b\[[0-9;]*m/g, '').length;

/** A left-aligned text table with a header row and a rule under it. */
export function table(headers: string[], rows: string[][]): string {
  const widths = headers.map((h, i) => Math.max(visible(h), ...rows.map((r) => visible(r[i] ?? ''))));
  const line = (cells: string[]): string => cells.map((c, i) => c + ' '.repeat(widths[i] - visible(c))).join('  ').trimEnd();
  return [line(headers), line(widths.map((w) => '-'.repeat(w))), ...rows.map(line)].join('\n');
}

/** `2026-11-23T09:30:00.000Z` → `2026-11-23 09:30Z`; empty for undefined. */
export function shortTime(iso: string | undefined): string {
  return iso ? `${iso.slice(0, 10)} ${iso.slice(11, 16)}Z` : '';
}

/** Dates in SDK output become ISO strings in reports. */
export function iso(d: Date | string | undefined): string | undefined {
  if (d === undefined) return undefined;
  return typeof d === 'string' ? d : d.toISOString();
}
