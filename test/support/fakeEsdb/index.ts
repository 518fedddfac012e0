// A stand-in for an EventStoreDB 24.10 node, for running the EventStoreDB
// adapter and @eventstore/db-client for real, end to end, where no server is
// available. It is NOT EventStoreDB: an in-memory log (log.ts) served over
// real gRPC with the client's own generated service definitions, answering as
// the server's source says it answers (each file cites the server file it
// follows). What it cannot show is how a real server differs from this
// reading of it; the contract against a real server (ESDB_URL) remains the
// authority.
//
// Served: ServerFeatures (features.ts), so the client appends through
// BatchAppend as against real servers; Streams (streams.ts); and whatever
// `services` adds (the Projections service, projections.ts).
import { execFileSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { addServerFeaturesService } from './features.js';
import { grpc, type Grpc } from './grpcModules.js';
import { createFakeLog, type FakeLog, type SystemProjection } from './log.js';
import { addStreamsService, type Fault, type FaultKind, type Operation } from './streams.js';

export type { FakeLog, Stored, NewEvent, Expected, AppendResult, SystemProjection } from './log.js';
export type { FaultKind, Operation } from './streams.js';

export interface FakeEsdbOptions {
  /**
   * A secure node (TLS, with a certificate made for the run) whose only user is this one, with AllowAnonymousStreamAccess=false:
   * stream operations without credentials get AccessDenied, unknown credentials UNAUTHENTICATED. `connectionString` then
   * carries the credentials and the CA file; `anonymousConnectionString` does not carry the credentials.
   */
  readonly secure?: { readonly username: string; readonly password: string };
  /** The server's MaxAppendSize. Default: 1 MiB (1_048_576), the server's default. */
  readonly maxAppendSize?: number;
  /** How many event ids the idempotency check of `any`/`stream_exists` remembers (see log.ts). Default: 100_000. */
  readonly idempotencyCacheSize?: number;
  /** System projections enabled at start (a server started with START_STANDARD_PROJECTIONS runs them). Default: none. */
  readonly systemProjections?: readonly SystemProjection[];
  /** Adds more services, e.g. the Projections service (`addProjectionsService` from ./projections.js). */
  readonly services?: (server: Grpc.Server, log: FakeLog) => void;
  /** Answer stream reads without positions, as servers before 22.6 do. Default: with positions. */
  readonly legacyPositions?: 'end-sentinel' | 'zero';
  /** Serve ServerFeatures. Default: true. Without it the client takes the unary Append path (servers before 21.10). */
  readonly serverFeatures?: boolean;
}

/** A fault to inject into the next calls of one kind of operation. */
export interface FaultPlan {
  readonly kind: FaultKind;
  /** How many calls fail. Default: 1; 0 clears the plan. */
  readonly count?: number;
  /** `deadline`/`unavailable` on appends: written before failing, so only the ack is lost. Default: false. */
  readonly written?: boolean;
  /** Default: `append`. */
  readonly operation?: Operation;
}

/** A running fake: its connection string, its log, and knobs to make it misbehave. */
export interface FakeEsdb {
  readonly connectionString: string;
  /** The same without credentials (a secure fake), to see what an anonymous client gets. */
  readonly anonymousConnectionString: string;
  readonly log: FakeLog;
  /** Ends every live subscription call with UNAVAILABLE, as a dropped connection does. */
  dropSubscriptions(): void;
  /** The next `count` appends fail with UNAVAILABLE after they were written (the ack is lost) or before (`written: false`). */
  failNextAppends(count: number, written: boolean): void;
  /** The next calls of `operation` fail with `kind`, answered as the server does on that path. Replaces the plan for that operation. */
  failNext(plan: FaultPlan): void;
  /** How many subscription calls were opened so far. */
  readonly subscriptionCalls: number;
  /** How many calls of a method were received: `Read`, `Subscribe`, `Append`, `BatchAppend` (calls), `BatchAppend.request`, `Delete`, `Tombstone`, `GetSupportedMethods`. */
  calls(method: string): number;
  stop(): Promise<void>;
}

/** A self-signed certificate for 127.0.0.1 and localhost, made with the system's openssl. */
const makeCertificate = (dir: string): { readonly key: Buffer; readonly cert: Buffer; readonly certPath: string } => {
  const keyPath = join(dir, 'node.key');
  const certPath = join(dir, 'node.crt');
  execFileSync(
    'openssl',
    [
      'req',
      '-x509',
      '-newkey',
      'ec',
      '-pkeyopt',
      'ec_paramgen_curve:prime256v1',
      '-nodes',
      '-days',
      '1',
      '-subj',
      '/CN=eventstoredb-node',
      '-addext',
      'subjectAltName=IP:127.0.0.1,DNS:localhost',
      '-keyout',
      keyPath,
      '-out',
      certPath,
    ],
    { stdio: 'ignore' },
  );
  return { key: readFileSync(keyPath), cert: readFileSync(certPath), certPath };
};

/** Starts the fake on a free local port. */
export const startFakeEsdb = async (options: FakeEsdbOptions = {}): Promise<FakeEsdb> => {
  const log = createFakeLog({
    ...(options.maxAppendSize === undefined ? {} : { maxAppendSize: options.maxAppendSize }),
    ...(options.idempotencyCacheSize === undefined ? {} : { idempotencyCacheSize: options.idempotencyCacheSize }),
    ...(options.systemProjections === undefined ? {} : { systemProjections: options.systemProjections }),
  });
  const counts = new Map<string, number>();
  const count = (method: string) => counts.set(method, (counts.get(method) ?? 0) + 1);
  const plans = new Map<Operation, { fault: Fault; remaining: number }>();
  const subscriptions = new Set<(error?: Grpc.ServiceError) => void>();
  const batchAppends = new Set<(error?: Grpc.ServiceError) => void>();
  let port = 0;

  const secure = options.secure;
  const expectedAuthorization =
    secure === undefined ? undefined : `Basic ${Buffer.from(`${secure.username}:${secure.password}`).toString('base64')}`;
  const authenticate = (metadata: Grpc.Metadata): 'ok' | 'anonymous' | 'bad' => {
    if (expectedAuthorization === undefined) return 'ok';
    const given = metadata.get('authorization')[0];
    if (given === undefined) return 'anonymous';
    return String(given) === expectedAuthorization ? 'ok' : 'bad';
  };

  const server = new grpc.Server();
  const served: Grpc.ServiceDefinition[] = [];
  // Every service added, by us or by `options.services`, is listed by ServerFeatures, as the server lists what it maps.
  const addService = server.addService.bind(server);
  server.addService = (definition, implementation) => {
    served.push(definition);
    addService(definition, implementation);
  };
  if (options.serverFeatures ?? true) addServerFeaturesService(server, () => served, authenticate, count);
  addStreamsService(server, {
    log,
    authenticate,
    takeFault: (operation) => {
      const plan = plans.get(operation);
      if (!plan || plan.remaining <= 0) return undefined;
      plan.remaining -= 1;
      return plan.fault;
    },
    leader: () => ({ host: secure === undefined ? '127.0.0.1' : 'localhost', port }),
    legacyPositions: options.legacyPositions,
    count,
    subscriptions,
    batchAppends,
  });
  options.services?.(server, log);

  const certificateDir = secure === undefined ? undefined : mkdtempSync(join(tmpdir(), 'jobtrail-fake-esdb-'));
  const certificate = certificateDir === undefined ? undefined : makeCertificate(certificateDir);
  const credentials =
    certificate === undefined
      ? grpc.ServerCredentials.createInsecure()
      : grpc.ServerCredentials.createSsl(null, [{ private_key: certificate.key, cert_chain: certificate.cert }], false);
  port = await new Promise<number>((resolve, reject) =>
    server.bindAsync('127.0.0.1:0', credentials, (error, bound) => (error ? reject(error) : resolve(bound))),
  );

  // Over TLS the client names the server by its host; an IP address as TLS server name is deprecated in Node, so say localhost.
  const host = certificate === undefined ? '127.0.0.1' : 'localhost';
  const address = `${host}:${port}`;
  const anonymousConnectionString =
    certificate === undefined
      ? `esdb://${address}?tls=false`
      : `esdb://${address}?tls=true&tlsCAFile=${encodeURIComponent(certificate.certPath)}`;
  const connectionString =
    secure === undefined
      ? anonymousConnectionString
      : anonymousConnectionString.replace(
          'esdb://',
          `esdb://${encodeURIComponent(secure.username)}:${encodeURIComponent(secure.password)}@`,
        );

  const failNext = (plan: FaultPlan) => {
    plans.set(plan.operation ?? 'append', {
      fault: { kind: plan.kind, written: plan.written ?? false },
      remaining: plan.count ?? 1,
    });
  };

  return {
    connectionString,
    anonymousConnectionString,
    log,
    dropSubscriptions: () => {
      for (const end of [...subscriptions])
        end(
          Object.assign(new Error('14 UNAVAILABLE: fake connection lost'), {
            code: grpc.status.UNAVAILABLE,
            details: 'fake connection lost',
            metadata: new grpc.Metadata(),
          }),
        );
    },
    failNextAppends: (count, written) => failNext({ kind: 'unavailable', count, written }),
    failNext,
    get subscriptionCalls() {
      return counts.get('Subscribe') ?? 0;
    },
    calls: (method) => counts.get(method) ?? 0,
    stop: () =>
      new Promise<void>((resolve) => {
        for (const end of [...subscriptions, ...batchAppends]) end();
        const finish = () => {
          if (certificateDir !== undefined) rmSync(certificateDir, { recursive: true, force: true });
          resolve();
        };
        server.tryShutdown(finish);
        setTimeout(() => {
          server.forceShutdown();
          finish();
        }, 2000).unref();
      }),
  };
};
