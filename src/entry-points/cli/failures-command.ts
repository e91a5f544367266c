import { Command, InvalidArgumentError } from 'commander';
import type { Config } from '../../config.js';
import { FailureState, type IssueFailure } from '../../domain/issue-failure.js';
import { findFailureById, listFailures } from '../../domain/issue-failure.repository.js';
import { retryFailure, type RetryOutcome } from '../../async-issue/failures/retry-failure.js';
import { withDeps } from './command-helpers.js';
import { positiveInt } from './options.js';

function describe(f: IssueFailure): string {
  const who = f.userId === null ? 'no user' : `user ${f.userId}`;
  const at = f.reservedAt ? `reserved ${f.reservedAt.toISOString()}` : `entry ${JSON.stringify(f.entryFields)}`;
  return `#${f.id} coupon ${f.couponId} ${who} ${at} ${f.state} ${f.kind} after ${f.attempts} attempt(s): ${f.reason}`
    + `\n    unit: ${f.unitRelease ?? 'release not recorded yet'}${f.retriedAt ? `; closed ${f.retriedAt.toISOString()}` : ''}`;
}

/** Outcomes after which nothing is left to do for that failure. */
const SETTLED: ReadonlySet<RetryOutcome> = new Set(['REQUEUED', 'ALREADY_ISSUED', 'SUPERSEDED', 'NOT_OPEN']);

/** `coupon failures list|retry`: the async issues the consumer gave up, kept in MySQL. */
export function failuresCommand(config: () => Config): Command {
  const failures = new Command('failures')
    .description('async issues the consumer gave up (recorded in MySQL, their users read FAILED): list them, re-queue them');

  failures.command('list')
    .description('list failed issues, oldest first (FAILED ones unless --all-states)')
    .option('--coupon <id>', 'only this coupon', positiveInt)
    .option('--all-states', 'also those already re-queued or superseded')
    .option('--json', 'one JSON object per line')
    .action(async (opts: { coupon?: number; allStates?: boolean; json?: boolean }) => {
      await withDeps(config(), 'coupon-failures', async (deps) => {
        const list = await listFailures(deps.db, { couponId: opts.coupon, state: opts.allStates ? undefined : FailureState.FAILED });
        for (const f of list) console.log(opts.json ? JSON.stringify(f) : describe(f));
        if (!opts.json) console.log(`${list.length} failed issue(s)${opts.coupon ? ` of coupon ${opts.coupon}` : ''}`);
      });
    });

  failures.command('retry')
    .description('re-queue failed issues once their cause is fixed (idempotent: MySQL\'s unique key keeps one row per user)')
    .argument('[id]', 'the failure to re-queue (from `coupon failures list`)', positiveInt)
    .option('--all', 'every FAILED one (of --coupon, if given)')
    .option('--coupon <id>', 'with --all: only this coupon', positiveInt)
    .action(async (id: number | undefined, opts: { all?: boolean; coupon?: number }) => {
      if ((id === undefined) === (opts.all !== true)) throw new InvalidArgumentError('give one failure id, or --all');
      await withDeps(config(), 'coupon-failures', async (deps) => {
        let targets: IssueFailure[];
        if (id === undefined) {
          targets = await listFailures(deps.db, { couponId: opts.coupon, state: FailureState.FAILED });
        } else {
          const one = await findFailureById(deps.db, id);
          if (!one) throw new InvalidArgumentError(`no failed issue #${id}`);
          targets = [one];
        }
        let unsettled = 0;
        for (const f of targets) {
          const r = await retryFailure(deps, f);
          if (!SETTLED.has(r.outcome)) unsettled++;
          console.log(`#${f.id} coupon ${f.couponId} user ${f.userId ?? '-'}: ${r.outcome}: ${r.message}`);
        }
        console.log(`${targets.length - unsettled} of ${targets.length} settled`);
        // What could not be re-queued (sold out meanwhile, nothing to re-queue) needs the operator.
        process.exitCode = unsettled > 0 ? 1 : 0;
      });
    });

  return failures;
}
