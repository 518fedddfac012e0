import { v5 as uuidv5 } from 'uuid';
import * as E from 'fp-ts/lib/Either.js';
import * as t from 'io-ts';
import { PathReporter } from 'io-ts/lib/PathReporter.js';
import { jobIdPattern } from '../job/index.js';
import { isStoreConfigurationError } from '../errors/index.js';
import { Dispositions, type Delivery, type Disposition } from '../broker/broker.js';
import type { Logger } from '../log/index.js';
import type { ConductorDeps } from './dispatch.js';
import { newJobId } from './newJobId.js';
import { enqueueJob, maxCommandDepth, nestsDeeperThan, type EnqueueOptions } from './enqueue.js';
import { traceLogFields } from '../tracing/index.js';
import { traceCommand } from './tracing.js';

/**
 * The enqueue command of the public wire contract: JSON published
 * to queue `jobtrail.enqueue`. Only `workerName` and `payload` are required;
 * unknown fields are ignored.
 */
export const EnqueueCommand = t.intersection(
  [
    t.type({ workerName: t.string, payload: t.unknown }),
    t.partial({
      jobId: t.string,
      queue: t.string,
      maxAttempts: t.number,
      runAt: t.string,
      priority: t.number,
      enqueuedBy: t.string,
      // A continuation: the parent job id(s), and "completed" (default) or "finished".
      after: t.union([t.string, t.array(t.string)]),
      on: t.string,
    }),
  ],
  'EnqueueCommand',
);
export type EnqueueCommand = t.TypeOf<typeof EnqueueCommand>;

/** The conductor's answer to a command with `replyTo`, sent with the command's `correlationId`. */
export type EnqueueReply =
  { readonly ok: true; readonly jobId: string; readonly created: boolean } | { readonly ok: false; readonly error: string };

/** How many times a command naming a parent that does not exist yet is tried before it is refused (with backoff: about 6 s). */
const unknownParentTries = 7;

/** Default largest command accepted: 1 MiB. */
export const defaultMaxCommandBytes = 1024 * 1024;

/** Namespace of the job ids derived from AMQP message ids that are not valid job ids themselves. */
const messageIdNamespace = '6f1c7a52-4f3e-4b0e-9d8a-2f7e7c1b9a10';

const acceptedContentTypes = new Set(['application/json', 'text/json']);

/** Why a command is refused, or the command: pure checks of one delivery. */
export const parseEnqueueCommand = (
  delivery: Pick<Delivery, 'body' | 'contentType' | 'messageId'>,
  maxBytes: number = defaultMaxCommandBytes,
): E.Either<string, { command: EnqueueCommand; jobId: string }> => {
  if (delivery.body.length > maxBytes) return E.left(`the command is ${delivery.body.length} bytes, over the limit of ${maxBytes} bytes`);
  const contentType = delivery.contentType?.split(';')[0]?.trim().toLowerCase();
  if (contentType !== undefined && contentType !== '' && !acceptedContentTypes.has(contentType))
    return E.left(`content-type ${JSON.stringify(delivery.contentType)} is not application/json`);
  let parsed: unknown;
  try {
    parsed = JSON.parse(new TextDecoder('utf-8', { fatal: true }).decode(delivery.body));
  } catch (error) {
    return E.left(`the command is not JSON (UTF-8): ${(error as Error).message}`);
  }
  if (typeof parsed !== 'object' || parsed === null || Array.isArray(parsed))
    return E.left(
      `the command must be a JSON object with workerName and payload, got ${Array.isArray(parsed) ? 'an array' : parsed === null ? 'null' : typeof parsed}`,
    );
  if (!Object.hasOwn(parsed, 'payload')) return E.left('the command has no payload (use {} for none)');
  if (nestsDeeperThan(parsed, maxCommandDepth)) return E.left(`the command nests arrays or objects deeper than ${maxCommandDepth} levels`);
  const decoded = EnqueueCommand.decode(parsed);
  if (E.isLeft(decoded)) return E.left(`invalid command: ${PathReporter.report(decoded).join('; ')}`);
  const command = decoded.right;
  // The AMQP messageId makes a producer's retried publish one job; one that is not
  // a valid job id is mapped to a UUID derived from it, which dedupes the same way.
  const jobId =
    command.jobId ??
    (delivery.messageId !== undefined && delivery.messageId !== ''
      ? jobIdPattern.test(delivery.messageId)
        ? delivery.messageId
        : uuidv5(delivery.messageId, messageIdNamespace)
      : newJobId());
  return E.right({ command, jobId });
};

/**
 * Handles deliveries of `jobtrail.enqueue`: a command that cannot be accepted
 * is dead-lettered to `jobtrail.enqueue.rejected` with the reason (and
 * answered when it has `replyTo`); an accepted one is recorded, dispatched,
 * answered, then acked. Nothing is acked that was not recorded.
 */
export const makeEnqueueCommandHandler = (deps: ConductorDeps, options: { readonly maxBytes?: number } = {}) => {
  const handle = makeHandler(deps, options);
  // A command that makes the handler throw would come back forever: dead-letter it with the defect.
  return async (delivery: Delivery): Promise<Disposition> => {
    try {
      // A span per command, a child of its `traceparent` header when it has a valid one (docs/tracing.md).
      return await traceCommand(delivery, () => handle(delivery));
    } catch (error) {
      if (isStoreConfigurationError(error)) {
        // Not the message's fault: every message would fail alike until the store's
        // configuration is fixed. Keep it (never dead-letter work for this), slowly.
        deps.log.error({ err: error.message, messageId: delivery.messageId }, 'the store refuses this process; the delivery is kept');
        await (deps.pause ?? deps.backoff)(8);
        return Dispositions.requeue;
      }
      deps.log.error({ err: (error as Error)?.stack ?? String(error), messageId: delivery.messageId }, 'enqueue command handler failed');
      return Dispositions.deadLetter(`the command could not be handled: ${(error as Error)?.message ?? String(error)}`);
    }
  };
};

const makeHandler =
  (deps: ConductorDeps, options: { readonly maxBytes?: number }) =>
  async (delivery: Delivery): Promise<Disposition> => {
    const log: Logger = deps.log.child({ messageId: delivery.messageId, queue: delivery.queue, ...traceLogFields(delivery.headers) });
    const answer = async (reply: EnqueueReply) => {
      if (delivery.replyTo === undefined || delivery.replyTo === '') return;
      const r = await deps.broker.reply(delivery.replyTo, {
        body: Buffer.from(JSON.stringify(reply)),
        contentType: 'application/json',
        ...(delivery.correlationId !== undefined ? { correlationId: delivery.correlationId } : {}),
      })();
      if (E.isLeft(r)) log.warn({ err: r.left.message, replyTo: delivery.replyTo }, 'could not send the reply');
    };
    const refuse = async (reason: string) => {
      log.warn({ reason }, 'enqueue command rejected');
      await answer({ ok: false, error: reason });
      return Dispositions.deadLetter(reason);
    };

    const parsed = parseEnqueueCommand(delivery, options.maxBytes);
    if (E.isLeft(parsed)) return refuse(parsed.left);
    const { command, jobId } = parsed.right;
    const enqueueOptions: EnqueueOptions = {
      jobId,
      ...(command.queue !== undefined ? { queue: command.queue } : {}),
      ...(command.maxAttempts !== undefined ? { maxAttempts: command.maxAttempts } : {}),
      ...(command.runAt !== undefined ? { runAt: command.runAt } : {}),
      ...(command.priority !== undefined ? { priority: command.priority } : {}),
      ...(command.enqueuedBy !== undefined ? { enqueuedBy: command.enqueuedBy } : {}),
      ...(command.after !== undefined ? { after: command.after } : {}),
      ...(command.on !== undefined ? { on: command.on as EnqueueOptions['on'] & string } : {}),
      ...(delivery.correlationId !== undefined ? { correlationId: delivery.correlationId } : {}),
      ...(delivery.messageId !== undefined ? { causationId: delivery.messageId } : {}),
    };
    for (let tries = 1; ; tries++) {
      const r = await enqueueJob(deps, command.workerName, command.payload, enqueueOptions);
      if (E.isRight(r)) {
        await answer({ ok: true, jobId: r.right.jobId, created: r.right.created });
        return Dispositions.ack;
      }
      const e = r.left;
      // A parent's command may be in flight still (commands are consumed in parallel): wait a little for it, then refuse.
      if (e.reason === 'UnknownParent' && tries < unknownParentTries && (await deps.backoff(tries))) continue;
      if (e.reason !== 'StoreUnavailable' && e.reason !== 'BrokerUnavailable') return refuse(e.message);
      // Transient: keep the command (unacked) and try again; give it back when stopping.
      log.warn({ err: e.message }, 'enqueue command not recorded yet; retrying');
      if (!(await deps.backoff(tries))) return Dispositions.requeue;
    }
  };
