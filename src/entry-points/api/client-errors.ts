import type { Server } from 'node:http';
import type { Socket } from 'node:net';
import { ErrorCode } from '../../errors.js';
import { body } from './error-handler.js';

/** A complete HTTP/1.1 answer in our error body, for the cases Node handles before Fastify sees a request. */
function rawAnswer(status: number, reason: string, code: string, comment: string, extraHeaders = ''): string {
  const json = JSON.stringify(body(code, comment));
  return `HTTP/1.1 ${status} ${reason}\r\nContent-Type: application/json; charset=utf-8\r\nContent-Length: ${Buffer.byteLength(json)}\r\n`
    + `${extraHeaders}Connection: close\r\n\r\n${json}`;
}

const TIMEOUT = rawAnswer(408, 'Request Timeout', ErrorCode.INVALID_REQUEST, 'the request did not arrive in time');
const HEADERS_TOO_LARGE = rawAnswer(431, 'Request Header Fields Too Large', ErrorCode.INVALID_REQUEST, 'the request headers are too large');
const MALFORMED = rawAnswer(400, 'Bad Request', ErrorCode.INVALID_REQUEST, 'the request is not valid HTTP');
const OVER_CAPACITY = rawAnswer(503, 'Service Unavailable', ErrorCode.UNAVAILABLE, 'too many open connections; try again shortly', 'Retry-After: 1\r\n');

/**
 * Fastify's clientErrorHandler: what Node's HTTP parser refuses (a raw space in the path, NUL in a header,
 * Content-Length with Transfer-Encoding, oversized headers) and requests that stalled past the timeout.
 */
export function answerClientError(err: NodeJS.ErrnoException, socket: Socket): void {
  // A reset connection has nobody left to answer.
  if (err.code === 'ECONNRESET' || socket.destroyed) return;
  const answer = err.code === 'ERR_HTTP_REQUEST_TIMEOUT' ? TIMEOUT : err.code === 'HPE_HEADER_OVERFLOW' ? HEADERS_TOO_LARGE : MALFORMED;
  if (socket.writable) socket.end(answer);
  socket.destroySoon();
}

/**
 * Caps open connections: one over `max` is answered 503 in our body and closed, never handed to the
 * HTTP parser. Node's own maxConnections (set twice as high) drops sockets silently beyond that,
 * so refused sockets cannot pile up either.
 */
export function capConnections(server: Server, max: number): void {
  const handlers = server.listeners('connection') as ((socket: Socket) => void)[];
  server.removeAllListeners('connection');
  server.maxConnections = max * 2;
  let open = 0;
  server.on('connection', (socket: Socket) => {
    if (open >= max) {
      socket.on('error', () => undefined); // the client may reset before reading the answer
      socket.end(OVER_CAPACITY);
      setTimeout(() => socket.destroy(), 1000).unref();
      return;
    }
    open++;
    socket.once('close', () => { open--; });
    for (const handler of handlers) handler.call(server, socket);
  });
}
