/// <reference lib="dom" />
/// <reference lib="dom.iterable" />
// (the functions given to page.waitForFunction run in the page)
import type { Browser, Page } from 'playwright-core';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { PersistConsumer } from '../../src/async-issue/consumer/persist-consumer.js';
import { fireIssues, floodBodies } from '../../src/harness/flood.js';
import { launchChromium } from '../helpers/browser.js';
import { useTestApp } from '../helpers/test-app.js';

// The page in a real Chromium, against the app on its own database; the stream sums what Redis holds.
const ctx = useTestApp();
let browser: Browser;
let page: Page;

beforeAll(async () => { browser = await launchChromium(); });
afterAll(async () => { await browser?.close(); });
afterEach(async () => { await page?.close(); });

async function createEvent(title: string, total: number, startInMs = -60_000): Promise<number> {
  const res = await ctx.app.inject({
    method: 'POST', url: '/v1/coupons',
    payload: {
      title, totalQuantity: total, discountAmount: 1000, minAvailableAmount: 0,
      dateIssueStart: new Date(Date.now() + startInMs).toISOString(), dateIssueEnd: new Date(Date.now() + Math.max(0, startInMs) + 3_600_000).toISOString(),
    },
  });
  expect(res.statusCode).toBe(201);
  return res.json<{ id: number }>().id;
}

const textOf = async (selector: string) => (await page.locator(selector).textContent())?.trim();

/** Waits until the page shows `want` in `selector`, then checks it (so a failure shows what it showed). */
async function expectText(selector: string, want: string | RegExp, timeout = 20_000): Promise<void> {
  const source = typeof want === 'string' ? { s: want } : { re: want.source };
  await page.waitForFunction(([sel, w]) => {
    const t = document.querySelector(sel)?.textContent?.trim() ?? '';
    return w.s !== undefined ? t === w.s : new RegExp(w.re!).test(t);
  }, [selector, source] as const, { timeout }).catch(() => {});
  const got = await textOf(selector);
  if (typeof want === 'string') expect(got, selector).toBe(want);
  else expect(got, selector).toMatch(want);
}

/** The answers table's "since this page opened" column, by code. */
async function answersOnPage(): Promise<Record<string, number>> {
  return page.$$eval('#answers tbody tr', (rows) => Object.fromEntries(rows.map((r) => [r.getAttribute('data-code'), Number(r.children[2]?.textContent)])));
}

const byCode = (outcomes: Record<string, number>) => Object.fromEntries(
  Object.entries(outcomes).map(([k, n]) => [k.includes(' ') ? k.split(' ')[1]! : 'OK', n]),
);

async function floodAndWatch(path: '/v1/issue' | '/v1/issue-async', total: number): Promise<void> {
  const couponId = await createEvent(`Flood on ${path}`, total);
  page = await browser.newPage({ viewport: { width: 1100, height: 1000 } });
  await page.goto(`${ctx.url}/events/${couponId}`);
  expect(await textOf('h1')).toBe(`Flood on ${path}`);
  // The first snapshot arrived: the stream is open before the flood starts.
  await expectText('#persisted', /^\d+$/);
  const flood = await fireIssues([ctx.url], path, floodBodies(couponId, total * 4, total), 32);
  const want = byCode(flood.outcomes);
  expect(want.OK).toBe(total);

  await expectText('#issued', String(total));
  await expectText('#total', String(total));
  await expectText('#state', 'sold out');
  await expectText('#persisted', String(total));
  await expectText('#sold-out', /^Sold out at \d\d:\d\d:\d\d\.\d{3} after \d+\.\d s$/);
  // Every answer of the flood, refusals by code, exactly.
  await page.waitForFunction((n) => [...document.querySelectorAll('#answers tbody tr')]
    .reduce((sum, r) => sum + Number(r.children[2]?.textContent), 0) >= n, flood.total, { timeout: 20_000 }).catch(() => {});
  expect(await answersOnPage()).toEqual(want);
  expect(Object.keys(want)).toEqual(expect.arrayContaining(['INVALID_COUPON_ISSUE_QUANTITY', 'DUPLICATED_COUPON_ISSUE']));
  expect(await page.locator('#chart canvas').count()).toBeGreaterThan(0);
  const html = await page.content();
  expect(html).not.toMatch(/userId/i);
  if (process.env.LIVE_PAGE_SCREENSHOT && path === '/v1/issue-async') await page.screenshot({ path: process.env.LIVE_PAGE_SCREENSHOT, fullPage: true });
}

describe('the live event page in Chromium', () => {
  it('async: issued climbs to exactly the total, the state turns sold out, refusals appear by code, the consumer persists it all', async () => {
    const consumer = new PersistConsumer(ctx.t.deps, { batchSize: 200, claimIdleMs: 30_000, maxAttempts: 3, maxDeliveries: 5, name: 'live-page' });
    const running = consumer.run();
    try {
      await floodAndWatch('/v1/issue-async', 300);
      await expectText('#queued', '0');
      await expectText('#pending', '0');
      await expectText('#gap', '0');
    } finally {
      consumer.stop();
      await running;
    }
  });

  it('sync: the same, with no stream to show', async () => {
    await floodAndWatch('/v1/issue', 100);
    await expectText('#queued', 'n/a (sync)');
  });

  it('the events list: newest first, issued / total and state, each linking to its page; an upcoming event counts down', async () => {
    const open = await createEvent('Open event', 10);
    const upcoming = await createEvent('Upcoming event', 20, 3_600_000);
    page = await browser.newPage({ viewport: { width: 390, height: 844 } }); // a phone
    await page.goto(`${ctx.url}/`);
    const ids = await page.$$eval('#events tbody tr', (rows) => rows.map((r) => Number(r.getAttribute('data-coupon-id'))));
    expect(ids.slice(0, 2)).toEqual([upcoming, open]);
    expect(ids).toEqual([...ids].sort((a, b) => b - a));
    expect(await textOf(`tr[data-coupon-id="${upcoming}"] .state`)).toBe('upcoming');
    expect(await textOf(`tr[data-coupon-id="${open}"] .state`)).toBe('open');
    expect(await textOf(`tr[data-coupon-id="${open}"] .issued`)).toBe('0 / 10');
    await page.click(`a[href="/events/${upcoming}"]`);
    await page.waitForURL(`**/events/${upcoming}`);
    expect(await textOf('h1')).toBe('Upcoming event');
    await expectText('#countdown', /^Opens in 0h (59|60)m \d\ds$/);
    await expectText('#state', 'upcoming');
  });
});
