import type { FastifyInstance } from 'fastify';
import { InvalidRequestError } from '../../errors.js';

const strictUtf8 = new TextDecoder('utf-8', { fatal: true });

/** True when no string in the value (keys included) holds a lone surrogate, which MySQL would store as U+FFFD. */
function wellFormed(value: unknown): boolean {
  const pending: unknown[] = [value];
  while (pending.length > 0) {
    const v = pending.pop();
    if (typeof v === 'string') {
      if (!v.isWellFormed()) return false;
    } else if (Array.isArray(v)) {
      pending.push(...(v as unknown[]));
    } else if (v !== null && typeof v === 'object') {
      for (const [k, x] of Object.entries(v)) {
        if (!k.isWellFormed()) return false;
        pending.push(x);
      }
    }
  }
  return true;
}

/**
 * JSON only, and only as valid UTF-8: Fastify's own parser decodes invalid bytes to U+FFFD and accepts
 * a lone "\uD800", so a title would be stored other than it was sent. Every other content type is
 * 415 (Fastify would otherwise parse text/plain as a string and answer 400).
 */
export function registerJsonBodyParser(app: FastifyInstance): void {
  const parseJson = app.getDefaultJsonParser('error', 'error');
  app.removeAllContentTypeParsers();
  app.addContentTypeParser('application/json', { parseAs: 'buffer' }, (req, raw, done) => {
    let text: string;
    try {
      text = strictUtf8.decode(raw as Buffer);
    } catch {
      done(new InvalidRequestError('the body is not valid UTF-8'), undefined);
      return;
    }
    void parseJson(req, text, (err, value) => {
      if (err) done(err, undefined);
      // Valid UTF-8 encodes no surrogate: only a \u escape can make one, so bodies without any skip the walk.
      else if (text.includes('\\u') && !wellFormed(value)) done(new InvalidRequestError('the body holds a lone UTF-16 surrogate (\\uD800-\\uDFFF)'), undefined);
      else done(null, value);
    });
  });
}
