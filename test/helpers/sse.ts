import { request } from 'node:http';

/** A Server-Sent Events stream read in the test: every `data:` line parsed, kept in order. */
export interface SseReader<T> {
  readonly status: number;
  readonly contentType: string;
  readonly events: T[];
  close(): void;
}

export async function openSse<T>(url: string): Promise<SseReader<T>> {
  return new Promise((resolve, reject) => {
    const req = request(url, { headers: { accept: 'text/event-stream' } }, (res) => {
      const events: T[] = [];
      let buffered = '';
      res.setEncoding('utf8');
      res.on('data', (chunk: string) => {
        buffered += chunk;
        let end: number;
        while ((end = buffered.indexOf('\n\n')) >= 0) {
          const block = buffered.slice(0, end);
          buffered = buffered.slice(end + 2);
          for (const line of block.split('\n')) if (line.startsWith('data: ')) events.push(JSON.parse(line.slice(6)) as T);
        }
      });
      res.on('error', () => {});
      resolve({ status: res.statusCode ?? 0, contentType: String(res.headers['content-type']), events, close: () => req.destroy() });
    });
    req.on('error', reject);
    req.end();
  });
}
