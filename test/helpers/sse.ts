import { request } from 'node:http';

/** A Server-Sent Events stream read in the test: every `data:` line parsed, kept in order. */
export interface SseReader<T> {
  readonly status: number;
  readonly contentType: string;
  readonly events: T[];
  /** The data of `event: history` blocks (the stream's first). */
  readonly history: unknown[];
  close(): void;
}

export async function openSse<T>(url: string): Promise<SseReader<T>> {
  return new Promise((resolve, reject) => {
    const req = request(url, { headers: { accept: 'text/event-stream' } }, (res) => {
      const events: T[] = [];
      const history: unknown[] = [];
      let buffered = '';
      res.setEncoding('utf8');
      res.on('data', (chunk: string) => {
        buffered += chunk;
        let end: number;
        while ((end = buffered.indexOf('\n\n')) >= 0) {
          const block = buffered.slice(0, end);
          buffered = buffered.slice(end + 2);
          const lines = block.split('\n');
          const data = lines.find((l) => l.startsWith('data: '));
          if (data === undefined) continue;
          if (lines.includes('event: history')) history.push(JSON.parse(data.slice(6)));
          else events.push(JSON.parse(data.slice(6)) as T);
        }
      });
      res.on('error', () => {});
      resolve({ status: res.statusCode ?? 0, contentType: String(res.headers['content-type']), events, history, close: () => req.destroy() });
    });
    req.on('error', reject);
    req.end();
  });
}
