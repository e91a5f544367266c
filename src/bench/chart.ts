import { variantCount, type BenchRow } from './bench-row.js';

const COLORS: Readonly<Record<string, string>> = {
  baseline: '#9e9e9e', none: '#e57373', 'process-lock': '#ffb74d', 'redis-lock': '#ba68c8',
  'mysql-lock': '#64b5f6', 'mysql-atomic': '#4db6ac', 'redis-async': '#c62828',
};

const esc = (s: string) => s.replace(/&/g, '&amp;').replace(/</g, '&lt;');

/** A round upper bound for an axis: 1, 2 or 5 times a power of ten. */
function niceMax(v: number): number {
  if (v <= 0) return 1;
  const p = 10 ** Math.floor(Math.log10(v));
  return ([1, 2, 5, 10].find((m) => m * p >= v) ?? 10) * p;
}

interface Panel {
  readonly title: string;
  readonly value: (r: BenchRow) => number;
  readonly unit: string;
}

/**
 * A self-contained SVG: one panel for requests/s, one for p99 latency, each a group of bars per
 * scenario with one bar per strategy (per strategy and variant when several ran), so a reader
 * compares strategies within one scenario.
 */
export function renderChart(rows: readonly BenchRow[], subtitle: string): string {
  const scenarios = [...new Set(rows.map((r) => r.scenario))];
  const seriesOf = variantCount(rows) > 1 ? (r: BenchRow) => `${r.strategy} [${r.variant}]` : (r: BenchRow) => r.strategy;
  const strategies = [...new Set(rows.map(seriesOf))];
  const colorOf = (series: string) => COLORS[rows.find((r) => seriesOf(r) === series)?.strategy ?? ''] ?? '#333';
  const panels: Panel[] = [
    { title: 'Throughput (requests/s, higher is better)', value: (r) => r.requestsPerSec, unit: '' },
    { title: 'p99 latency (ms, lower is better)', value: (r) => r.latencyMs.p99, unit: ' ms' },
  ];
  const bar = 14;
  const groupGap = 28;
  const left = 70;
  const plotW = scenarios.length * (strategies.length * bar + groupGap);
  // About 7 px a character at 11 px: labels with a variant need wider legend slots.
  const legendW = Math.max(100, 20 + 7 * Math.max(...strategies.map((x) => x.length)));
  const width = Math.max(left + strategies.length * legendW + 20, left + plotW + 30);
  const panelH = 230;
  const top = 60;
  const legendH = 30;
  const height = top + panels.length * (panelH + 60) + legendH;
  const out: string[] = [
    `<svg xmlns="http://www.w3.org/2000/svg" width="${width}" height="${height}" viewBox="0 0 ${width} ${height}" font-family="sans-serif" font-size="11">`,
    `<rect width="100%" height="100%" fill="#fff"/>`,
    `<text x="${left}" y="22" font-size="15" font-weight="bold">coupon bench</text>`,
    `<text x="${left}" y="40" fill="#555">${esc(subtitle)}</text>`,
  ];
  panels.forEach((panel, pi) => {
    const y0 = top + pi * (panelH + 60) + 20;
    const max = niceMax(Math.max(...rows.map(panel.value)));
    out.push(`<text x="${left}" y="${y0 - 6}" font-weight="bold">${esc(panel.title)}</text>`);
    for (let t = 0; t <= 4; t++) {
      const v = (max * t) / 4;
      const y = y0 + panelH - (panelH * t) / 4;
      out.push(`<line x1="${left}" x2="${left + plotW}" y1="${y}" y2="${y}" stroke="#e0e0e0"/>`,
        `<text x="${left - 6}" y="${y + 4}" text-anchor="end" fill="#555">${Math.round(v)}</text>`);
    }
    scenarios.forEach((scenario, si) => {
      const gx = left + si * (strategies.length * bar + groupGap) + groupGap / 2;
      strategies.forEach((strategy, k) => {
        const r = rows.find((x) => x.scenario === scenario && seriesOf(x) === strategy);
        if (!r) return;
        const v = panel.value(r);
        const h = Math.max(1, (panelH * Math.min(v, max)) / max);
        const x = gx + k * bar;
        out.push(`<rect x="${x}" y="${y0 + panelH - h}" width="${bar - 2}" height="${h}" fill="${colorOf(strategy)}"><title>${esc(`${strategy} / ${scenario}: ${v}${panel.unit}`)}</title></rect>`);
      });
      out.push(`<text x="${gx + (strategies.length * bar) / 2}" y="${y0 + panelH + 16}" text-anchor="middle">${esc(scenario)}</text>`);
    });
  });
  const ly = height - legendH + 10;
  strategies.forEach((s, i) => {
    const x = left + i * legendW;
    out.push(`<rect x="${x}" y="${ly}" width="10" height="10" fill="${colorOf(s)}"/>`, `<text x="${x + 14}" y="${ly + 9}">${esc(s)}</text>`);
  });
  out.push('</svg>');
  return out.join('\n');
}
