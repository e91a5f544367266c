import { connect, type Socket } from 'node:net';

export interface RawResponse {
  readonly status: number;
  readonly headers: Record<string, string>;
  readonly body: string;
}

/** Reads one HTTP/1.1 response (Content-Length framed), or what arrived before the socket closed. */
export function readResponse(socket: Socket): Promise<RawResponse> {
  return new Promise((resolve, reject) => {
    let buf = Buffer.alloc(0);
    const parse = (): RawResponse | null => {
      const end = buf.indexOf('\r\n\r\n');
      if (end < 0) return null;
      const [statusLine = '', ...lines] = buf.subarray(0, end).toString('latin1').split('\r\n');
      const headers = Object.fromEntries(lines.map((l) => [l.slice(0, l.indexOf(':')).toLowerCase(), l.slice(l.indexOf(':') + 1).trim()]));
      const length = Number(headers['content-length'] ?? -1);
      const body = buf.subarray(end + 4);
      if (length >= 0 && body.length < length) return null;
      return { status: Number(statusLine.split(' ')[1]), headers, body: body.subarray(0, length >= 0 ? length : undefined).toString('utf8') };
    };
    const done = () => {
      const r = parse();
      if (r) resolve(r);
      else reject(new Error(`connection closed without a full response: ${JSON.stringify(buf.toString('latin1'))}`));
    };
    socket.on('data', (d: Buffer) => {
      buf = Buffer.concat([buf, d]);
      const r = parse();
      if (r) {
        socket.removeAllListeners('close');
        resolve(r);
      }
    });
    socket.once('close', done);
    socket.on('error', () => undefined); // a reset after the answer; 'close' follows
  });
}

export function openSocket(port: number): Promise<Socket> {
  return new Promise((resolve, reject) => {
    const s = connect(port, '127.0.0.1', () => resolve(s));
    s.once('error', reject);
  });
}

/** Sends bytes as given (malformed requests included) on a fresh connection and reads the answer. */
export async function rawRequest(port: number, bytes: string | Buffer): Promise<RawResponse> {
  const s = await openSocket(port);
  try {
    const answer = readResponse(s);
    s.write(bytes);
    return await answer;
  } finally {
    s.destroy();
  }
}

export function postJson(path: string, body: unknown, headers: Record<string, string> = {}): string {
  const json = JSON.stringify(body);
  const extra = Object.entries(headers).map(([k, v]) => `${k}: ${v}\r\n`).join('');
  return `POST ${path} HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\nContent-Length: ${Buffer.byteLength(json)}\r\n${extra}Connection: close\r\n\r\n${json}`;
}

/**
 * The single-packet attack: every connection is opened first, then every request is written in one
 * synchronous loop, so they reach the server together. Resolves with each answer, in order.
 */
export async function burst(port: number, requests: readonly string[]): Promise<RawResponse[]> {
  const sockets = await Promise.all(requests.map(() => openSocket(port)));
  try {
    const answers = sockets.map((s) => readResponse(s));
    requests.forEach((r, i) => sockets[i]!.write(r));
    return await Promise.all(answers);
  } finally {
    for (const s of sockets) s.destroy();
  }
}

/** "202", "409 DUPLICATED_COUPON_ISSUE", ... -> how many. */
export function tally(answers: readonly RawResponse[]): Record<string, number> {
  const out: Record<string, number> = {};
  for (const a of answers) {
    const code = a.status >= 400 ? ` ${(JSON.parse(a.body) as { code: string }).code}` : '';
    out[`${a.status}${code}`] = (out[`${a.status}${code}`] ?? 0) + 1;
  }
  return out;
}
