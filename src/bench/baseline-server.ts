/**
 * The bench's ceiling, run by the bench as a child process of its own (never part of the
 * production app): the API's configured Fastify instance with one route that validates and
 * serialises exactly like POST /v1/issue and does no I/O. Reads PORT, HOST, LOG_LEVEL and LOG_REQUESTS.
 */
import { pino } from 'pino';
import { loadConfig } from '../config.js';
import { createFastify } from '../entry-points/api/fastify-instance.js';
import { issueRouteSchema, OK } from '../entry-points/api/routes/issue.js';
import { BASELINE_PATH } from './scenarios.js';

const config = loadConfig();
const { app } = await createFastify(pino({ name: 'coupon-bench-baseline', level: config.logLevel }), config.security, config.logRequests);
app.post(BASELINE_PATH, { schema: issueRouteSchema(200) }, async () => OK);
// The harness waits for /health like it does for the API; here nothing is behind it.
app.get('/health', async () => ({ status: 'UP' }));
await app.listen({ port: config.port, host: config.host });

for (const signal of ['SIGINT', 'SIGTERM'] as const) {
  process.once(signal, () => void app.close().then(() => process.exit(0)));
}
