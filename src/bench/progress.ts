import cliProgress from 'cli-progress';
import { totalOf } from './load-result.js';
import { readCounters } from './response-counters.cjs';

export interface Progress {
  stop(): void;
}

/**
 * A live bar over the phase's duration with the answers counted so far. wrk reports only at the
 * end (it is another process), so its bar shows time alone.
 */
export function startProgress(label: string, durationSec: number, counters: SharedArrayBuffer, enabled: boolean): Progress {
  if (!enabled) return { stop() {} };
  const bar = new cliProgress.SingleBar({
    format: '{label} [{bar}] {value}/{total}s | {answers} answers | {rps} req/s',
    hideCursor: true,
    clearOnComplete: true,
    stream: process.stderr,
  }, cliProgress.Presets.shades_classic);
  const start = performance.now();
  const payload = (elapsedSec: number) => {
    const answers = totalOf(readCounters(counters));
    return { label: label.padEnd(26), answers, rps: elapsedSec > 0 ? Math.round(answers / elapsedSec) : 0 };
  };
  bar.start(durationSec, 0, payload(0));
  const timer = setInterval(() => {
    const elapsed = (performance.now() - start) / 1000;
    bar.update(Math.min(durationSec, Math.floor(elapsed)), payload(elapsed));
  }, 250);
  return {
    stop() {
      clearInterval(timer);
      bar.stop();
    },
  };
}
