import { Command, InvalidArgumentError } from 'commander';
import { ConfigError, loadConfig, type Config } from './config.js';
import { migrate } from './db/migrations.js';
import { startApi } from './api/server.js';
import { onShutdownSignal } from './shutdown.js';

/** Bad configuration is the operator's to fix: one line, exit code 2. */
function configOrExit(): Config {
  try {
    return loadConfig();
  } catch (err) {
    if (err instanceof ConfigError) {
      process.stderr.write(`coupon: ${err.message}\n`);
      process.exit(2);
    }
    throw err;
  }
}

export function parsePositiveInt(raw: string): number {
  const n = Number(raw);
  if (!Number.isSafeInteger(n) || n < 1) throw new InvalidArgumentError('must be a positive integer');
  return n;
}

const program = new Command()
  .name('coupon')
  .description('fcfs-coupon: first-come-first-served coupon issuance on MySQL and Redis')
  .showHelpAfterError();

program.command('migrate')
  .description('create the database named in MYSQL_URL if missing and apply pending schema migrations')
  .action(async () => {
    const config = configOrExit();
    const r = await migrate(config.mysqlUrl);
    console.log(`database ${r.database}: schema version ${r.current}${r.applied.length ? ` (applied ${r.applied.join(', ')})` : ' (up to date)'}`);
  });

program.command('api')
  .description('serve the HTTP API on PORT, issuing with ISSUE_STRATEGY')
  .action(async () => {
    const api = await startApi(configOrExit());
    onShutdownSignal(() => api.close());
  });

program.parseAsync(process.argv).catch((err: unknown) => {
  process.stderr.write(`coupon: ${err instanceof Error ? err.message : String(err)}\n`);
  process.exit(1);
});
