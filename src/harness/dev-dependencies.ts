import { createRequire } from 'node:module';

/** What the bench and the demo load and the production image (`npm ci --omit=dev`) leaves out. */
const LOAD_TOOLS = ['autocannon', 'cli-progress', 'hdr-histogram-js', 'undici'] as const;

/**
 * Throws one clear line (the CLI prints it as `coupon: <command> needs ...`) when the load tools
 * are missing, before anything imports them: otherwise a stack trace from deep in the imports.
 */
export function requireLoadTools(command: string): void {
  const require = createRequire(import.meta.url);
  const missing = LOAD_TOOLS.filter((name) => {
    try {
      require.resolve(name);
      return false;
    } catch {
      return true;
    }
  });
  if (missing.length > 0) {
    throw new Error(`${command} needs the development dependencies (missing ${missing.join(', ')}): run npm ci without --omit=dev`);
  }
}
