import swagger from '@fastify/swagger';
import swaggerUi from '@fastify/swagger-ui';
import { Type, type TSchema } from '@sinclair/typebox';
import type { FastifyInstance } from 'fastify';
import { ErrorCode } from '../../errors.js';

type ErrorStatus = 400 | 401 | 403 | 404 | 408 | 409 | 413 | 414 | 415 | 429 | 431 | 500 | 503;

/** What every route may answer besides its own refusals: a bad request, a fault, storage away or shutting down. */
const COMMON: Partial<Record<ErrorStatus, readonly ErrorCode[]>> = {
  400: [ErrorCode.INVALID_REQUEST],
  500: [ErrorCode.INTERNAL_ERROR],
  503: [ErrorCode.UNAVAILABLE],
};

/**
 * Response schemas of a route's error answers, each listing its codes (the one error body of the
 * contract). Also compiles their serializers, as the issue routes' did with one `4xx` schema.
 */
export function errorResponses(own: Partial<Record<ErrorStatus, readonly ErrorCode[]>>): Record<number, TSchema> {
  const all: Partial<Record<ErrorStatus, readonly ErrorCode[]>> = { ...COMMON };
  for (const [status, codes] of Object.entries(own) as [`${ErrorStatus}`, readonly ErrorCode[]][]) {
    all[Number(status) as ErrorStatus] = [...new Set([...(all[Number(status) as ErrorStatus] ?? []), ...codes])];
  }
  return Object.fromEntries(Object.entries(all).map(([status, codes]) => [status, Type.Object(
    { isSuccess: Type.Boolean(), code: Type.String({ enum: [...codes] }), comment: Type.String() },
    { description: codes.join(', ') },
  )]));
}

/** A path parameter as the routes take it: text, parsed by the route (no coercion). */
export function idParams<const K extends string>(...names: K[]) {
  return Type.Object(Object.fromEntries(names.map((n) => [n, Type.String({ description: 'an integer id, 1..2^53-1' })])) as Record<K, ReturnType<typeof Type.String>>);
}

/**
 * The OpenAPI 3 document built from the route schemas: registered before any route, so every route
 * added afterwards (by any file) is in it. Served at GET /openapi.json, browsable at /docs.
 */
export async function registerOpenApi(app: FastifyInstance): Promise<void> {
  const common = errorResponses({});
  await app.register(swagger, {
    // In the document only (serialization is untouched): every route may answer these, whether or not it says so.
    transform: ({ schema, url }) => {
      if (!schema || schema.hide) return { schema, url };
      return { schema: { ...schema, response: { ...common, ...(schema.response as object | undefined) } }, url };
    },
    openapi: {
      openapi: '3.0.3',
      info: {
        title: 'fcfs-coupon',
        version: '1',
        description: 'First-come-first-served coupon issuance. Every error body is {"isSuccess": false, "code": "<CODE>", "comment": "<message>"}; '
          + `an unknown route is 404 ${ErrorCode.NOT_FOUND}.`,
      },
      tags: [
        { name: 'issue', description: 'asking for a coupon' },
        { name: 'coupons', description: 'coupon events and issue status' },
        { name: 'admin', description: 'needs Authorization: Bearer <ADMIN_TOKEN> when ADMIN_TOKEN is set' },
        { name: 'live', description: 'the live event page and its stream' },
        { name: 'operations', description: 'health and metrics' },
        { name: 'waiting room', description: 'a place in line on coupons created with a waitingRoom; a claim needs an ADMITTED ticket' },
      ],
      components: { securitySchemes: { adminToken: { type: 'http', scheme: 'bearer' } } },
    },
  });
  await app.register(swaggerUi, { routePrefix: '/docs' });
  app.get('/openapi.json', { schema: { hide: true } }, () => app.swagger());
}
