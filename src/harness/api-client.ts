/** The few calls the bench and the demo make to the service itself, over plain HTTP like any client. */
export interface ApiTarget {
  readonly url: string;
  readonly adminToken: string | undefined;
}

export async function createCouponEvent(target: ApiTarget, title: string, totalQuantity: number): Promise<number> {
  const now = Date.now();
  const res = await fetch(new URL('/v1/coupons', target.url), {
    method: 'POST',
    headers: {
      'content-type': 'application/json',
      ...(target.adminToken ? { authorization: `Bearer ${target.adminToken}` } : {}),
    },
    body: JSON.stringify({
      title,
      totalQuantity,
      discountAmount: 1000,
      minAvailableAmount: 10_000,
      // Opened a minute ago so clock skew between us and the server cannot reject the first requests.
      dateIssueStart: new Date(now - 60_000).toISOString(),
      dateIssueEnd: new Date(now + 24 * 3600_000).toISOString(),
    }),
  });
  const body = (await res.json()) as { id?: unknown; comment?: unknown };
  if (res.status !== 201 || typeof body.id !== 'number') {
    throw new Error(`creating a coupon failed with ${res.status}: ${JSON.stringify(body)}`);
  }
  return body.id;
}

export async function createCouponEvents(target: ApiTarget, title: string, count: number, totalQuantity: number): Promise<number[]> {
  const ids: number[] = [];
  // A few at a time: quick, without making the creation itself a load test.
  for (let i = 0; i < count; i += 10) {
    const batch = Array.from({ length: Math.min(10, count - i) }, (_, j) => createCouponEvent(target, `${title} #${i + j + 1}`, totalQuantity));
    ids.push(...(await Promise.all(batch)));
  }
  return ids;
}

/** True when the server routes `path` (a 400 for an empty body), false on 404: e.g. a service given by --url from before the async path. */
export async function hasRoute(url: string, path: string): Promise<boolean> {
  const res = await fetch(new URL(path, url), { method: 'POST', headers: { 'content-type': 'application/json' }, body: '{}' });
  await res.arrayBuffer();
  return res.status !== 404;
}
