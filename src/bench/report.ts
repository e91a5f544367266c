import { variantCount, type BenchRow } from './bench-row.js';
import { CPU_COMPONENTS } from './process-cpu.js';
import type { BenchResult } from './run-bench.js';

interface Column {
  readonly title: string;
  readonly value: (r: BenchRow) => string;
  readonly left?: boolean;
}

const dash = '-';
const num = (n: number | null) => (n === null ? dash : String(n));

const STRATEGY: Column = { title: 'strategy', value: (r) => r.strategy, left: true };
const VARIANT: Column = { title: 'variant', value: (r) => r.variant, left: true };
const SCENARIO: Column = { title: 'scenario', value: (r) => r.scenario, left: true };

const MEASURES: readonly Column[] = [
  { title: 'req/s', value: (r) => String(r.requestsPerSec) },
  { title: 'x base', value: (r) => (r.ratioToBaseline === null ? dash : r.ratioToBaseline.toFixed(2)) },
  { title: 'p50 ms', value: (r) => String(r.latencyMs.p50) },
  { title: 'p90 ms', value: (r) => String(r.latencyMs.p90) },
  { title: 'p99 ms', value: (r) => String(r.latencyMs.p99) },
  { title: 'max ms', value: (r) => String(r.latencyMs.max) },
  { title: 'succeeded', value: (r) => String(r.succeeded) },
  { title: 'issued', value: (r) => (r.issuedInMysql === null ? dash : `${r.issuedInMysql}/${r.quantity}`) },
  { title: 'over', value: (r) => num(r.overIssued) },
  { title: 'dup', value: (r) => num(r.duplicates) },
  { title: 'issue/s', value: (r) => num(r.issuingPerSec) },
  { title: 'redis=mysql', value: (r) => (r.redisMysqlAgree === null ? dash : r.redisMysqlAgree ? 'yes' : 'NO') },
  { title: 'drain rows/s', value: (r) => (r.drainRowsPerSec === null ? dash : `${r.drainRowsPerSec} (${r.consumer})`) },
  ...CPU_COMPONENTS.map((c): Column => ({ title: `${c} µs/req`, value: (r) => num(r.cpuUsPerRequest[c]) })),
  { title: 'consumer µs/issued', value: (r) => num(r.consumerCpuUsPerReservation) },
  { title: 'verdict', value: verdictOf, left: true },
];

/** What names a row: the variant column only when the run has more than one. */
function keyColumns(rows: readonly BenchRow[]): Column[] {
  return variantCount(rows) > 1 ? [STRATEGY, VARIANT, SCENARIO] : [STRATEGY, SCENARIO];
}

function verdictOf(r: BenchRow): string {
  if (r.strategy === 'baseline') return 'ceiling';
  if (r.exact === null) return r.failures.length ? 'inexact (expected)' : 'exact (not required)';
  return r.exact ? 'exact' : 'FAIL';
}

export function consoleTable(rows: readonly BenchRow[]): string {
  const columns = [...keyColumns(rows), ...MEASURES];
  const cells = rows.map((r) => columns.map((c) => c.value(r)));
  const widths = columns.map((c, i) => Math.max(c.title.length, ...cells.map((row) => row[i]?.length ?? 0)));
  const line = (values: readonly string[]) =>
    values.map((v, i) => (columns[i]?.left ? v.padEnd(widths[i] ?? 0) : v.padStart(widths[i] ?? 0))).join('  ').trimEnd();
  return [line(columns.map((c) => c.title)), line(widths.map((w) => '-'.repeat(w))), ...cells.map(line)].join('\n');
}

function markdownOf(rows: readonly BenchRow[], columns: readonly Column[]): string {
  const head = `| ${columns.map((c) => c.title).join(' | ')} |`;
  const rule = `|${columns.map((c) => (c.left ? ':---' : '---:')).join('|')}|`;
  return [head, rule, ...rows.map((r) => `| ${columns.map((c) => c.value(r)).join(' | ')} |`)].join('\n');
}

export function markdownTable(rows: readonly BenchRow[]): string {
  return markdownOf(rows, [...keyColumns(rows), ...MEASURES]);
}

function responsesTable(rows: readonly BenchRow[]): string {
  const keys = [...new Set(rows.flatMap((r) => Object.keys(r.responses)))].sort();
  const counts: Column[] = keys.map((k) => ({ title: k, value: (r) => String(r.responses[k] ?? 0) }));
  return markdownOf(rows, [...keyColumns(rows), ...counts, { title: 'no answer', value: (r) => String(r.errors) }]);
}

/** The Markdown report of --out: what ran, the table, the answers by status and code, the verdict. */
export function markdownReport(result: BenchResult, chartFile: string): string {
  const o = result.options;
  const model = o['rate'] === null ? `closed model, ${String(o['connections'])} connections` : `open model, ${String(o['rate'])} requests/s`;
  const lines = [
    '# coupon bench',
    '',
    `Started ${result.startedAt}; ${model}; ${String(o['durationSec'])} s per scenario; generator ${String(o['generator'])}; quantity ${String(o['quantity'])} per coupon; variants ${String(o['variants'])}.`,
    '',
    markdownTable(result.rows),
    '',
    `![requests/s and p99 per strategy](${chartFile})`,
    '',
    '## Answers by status and code',
    '',
    responsesTable(result.rows),
    '',
  ];
  if (result.generatorCheck) {
    const g = result.generatorCheck;
    lines.push('## Generator check', '',
      `Baseline through ${g.generator}: ${g.generatorRequestsPerSec} req/s; through ${g.stronger}: ${g.strongerRequestsPerSec} req/s; ratio ${g.ratio}.`, '');
  }
  for (const s of result.skipped) lines.push(`Skipped ${s.strategy}: ${s.reason}.`, '');
  lines.push('## Verdict', '', result.failures.length === 0 ? 'Every strategy that must be exact was exact.' : result.failures.map((f) => `- ${f}`).join('\n'), '');
  return lines.join('\n');
}
