import { dirname } from 'node:path';
import { createRequire } from 'node:module';
import { fileURLToPath } from 'node:url';
import fastifyStatic from '@fastify/static';
import { Type } from '@sinclair/typebox';
import type { FastifyInstance } from 'fastify';
import type { Deps } from '../../../deps.js';
import type { Coupon } from '../../../domain/coupon.js';
import { listCoupons } from '../../../domain/coupon-admin.service.js';
import { getCoupon } from '../../../domain/coupon.service.js';
import { ErrorCode } from '../../../errors.js';
import { readStatesOf } from '../../../metrics/coupon-states.js';
import { liveStateOf } from '../../../metrics/live-snapshots.js';
import { errorResponses, idParams } from '../openapi.js';
import { parseId } from '../params.js';

// dist/entry-points/api/routes/ (or src/ under vitest) -> ../public: the build copies it beside the modules.
const PUBLIC_DIR = fileURLToPath(new URL('../public/', import.meta.url));
const UPLOT_DIR = dirname(createRequire(import.meta.url).resolve('uplot/dist/uPlot.iife.min.js'));
const EVENTS_ON_INDEX = 50;

const escapeHtml = (s: string) => s.replace(/[&<>"']/g, (ch) => `&#${ch.charCodeAt(0)};`);

function page(title: string, body: string, script = ''): string {
  return `<!doctype html>
<html lang="en"><head><meta charset="utf-8"><meta name="viewport" content="width=device-width, initial-scale=1">
<title>${escapeHtml(title)}</title><link rel="stylesheet" href="/assets/uPlot.min.css"><link rel="stylesheet" href="/assets/live.css">
</head><body>${body}${script}</body></html>`;
}

const htmlResponse = { 200: { description: 'an HTML page', content: { 'text/html': { schema: Type.String() } } } };

/**
 * GET / (the events, newest first) and GET /events/:couponId (one event, live), plain HTML with their
 * numbers as text; the event page's script follows GET /v1/coupons/:couponId/live. Files come from
 * public/ and uPlot's own package: no build step, nothing from another site. No user id is shown.
 */
export async function registerPages(app: FastifyInstance, deps: Deps): Promise<void> {
  await app.register(fastifyStatic, { root: [PUBLIC_DIR, UPLOT_DIR], prefix: '/assets/', decorateReply: false, allowedPath: (path) => !path.includes('..') });

  const issuedOf = async (coupons: readonly Coupon[]) => {
    const states = await readStatesOf(deps, coupons.map((c) => c.id));
    return new Map(states.map((s) => [s.couponId, s.reserved]));
  };

  app.get('/', {
    schema: { tags: ['live'], summary: 'The events, newest first, each linking to its live page', response: htmlResponse },
  }, async (_req, reply) => {
    const { items } = await listCoupons(deps, EVENTS_ON_INDEX, null);
    const issued = await issuedOf(items);
    const now = deps.now();
    const rows = items.map((c) => {
      const n = issued.get(c.id) ?? c.issuedQuantity;
      return `<tr data-coupon-id="${c.id}"><td><a href="/events/${c.id}">${escapeHtml(c.title)}</a></td>`
        + `<td><time datetime="${c.dateIssueStart.toISOString()}">${c.dateIssueStart.toISOString()}</time> – <time datetime="${c.dateIssueEnd.toISOString()}">${c.dateIssueEnd.toISOString()}</time></td>`
        + `<td class="num issued">${n} / ${c.totalQuantity ?? '∞'}</td><td class="state">${liveStateOf(c, n, now)}</td></tr>`;
    }).join('\n');
    return reply.type('text/html; charset=utf-8').send(page('Coupon events', `<main><h1>Coupon events</h1>
<table id="events"><thead><tr><th>event</th><th>window (UTC)</th><th>issued / total</th><th>state</th></tr></thead>
<tbody>${rows || '<tr><td colspan="4">No events yet.</td></tr>'}</tbody></table>
<p><a href="/docs">API (OpenAPI)</a></p></main>`));
  });

  app.get<{ Params: { couponId: string } }>('/events/:couponId', {
    schema: {
      tags: ['live'], summary: 'One event, live: countdown, issued vs total, answers per second, latency, the consumer, the gap',
      params: idParams('couponId'),
      response: { ...htmlResponse, ...errorResponses({ 404: [ErrorCode.COUPON_NOT_EXIST] }) },
    },
  }, async (req, reply) => {
    const c = await getCoupon(deps, parseId(req.params.couponId, 'couponId'));
    const issued = (await issuedOf([c])).get(c.id) ?? c.issuedQuantity;
    const stat = (id: string, label: string, value: string) => `<div class="stat"><span class="label">${label}</span> <span class="value" id="${id}">${value}</span></div>`;
    const body = `<main id="event" data-coupon-id="${c.id}" data-start="${c.dateIssueStart.toISOString()}" data-end="${c.dateIssueEnd.toISOString()}">
<p><a href="/">All events</a></p>
<h1>${escapeHtml(c.title)}</h1>
<p>Window (UTC): <time>${c.dateIssueStart.toISOString()}</time> – <time>${c.dateIssueEnd.toISOString()}</time> · state: <strong id="state">${liveStateOf(c, issued, deps.now())}</strong></p>
<p id="countdown" aria-live="polite"></p>
<p id="sold-out" aria-live="polite"></p>
<section aria-label="issued vs total"><div class="bar"><div id="bar-fill" style="width:0%"></div></div>
<p><span id="issued">${issued}</span> issued of <span id="total">${c.totalQuantity ?? '∞'}</span></p></section>
<section class="stats">
${stat('persisted', 'rows persisted', '–')}${stat('queued', 'queued (not yet read)', '–')}${stat('pending', 'pending (read, not committed)', '–')}
${stat('gap', 'consistency gap', '–')}${stat('p50', 'p50 latency (ms), last second with answers', '–')}${stat('p99', 'p99 latency (ms)', '–')}
</section>
<section aria-label="answers per second"><h2>Answers per second, by code</h2><div id="chart"></div>
<table id="answers"><thead><tr><th>code</th><th>last second</th><th>total shown</th></tr></thead><tbody></tbody></table></section>
<p class="note">Live from <code>GET /v1/coupons/${c.id}/live</code>, summed over every API process, a second behind;
the chart and the totals start five minutes before the page was opened.</p>
</main>`;
    return reply.type('text/html; charset=utf-8').send(page(c.title, body, '<script src="/assets/uPlot.iife.min.js"></script><script src="/assets/live.js"></script>'));
  });
}
