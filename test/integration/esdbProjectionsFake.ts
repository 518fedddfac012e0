// A fake EventStoreDB with the Projections service, for the projection tests:
// the FakeLog, the Streams service and test/support/fakeEsdb/projections.ts on one gRPC server.
import { createFakeLog, type FakeLog, type SystemProjection } from '../support/fakeEsdb/log.js';
import { grpc, rpcError } from '../support/fakeEsdb/grpcModules.js';
import { addProjectionsService, type FakeProjections, type FakeProjectionsOptions } from '../support/fakeEsdb/projections.js';
import { addStreamsService } from '../support/fakeEsdb/streams.js';

export interface ProjectionsFake {
  readonly connectionString: string;
  readonly log: FakeLog;
  /** Undefined when started with `projections: false` (a server without the projection subsystem). */
  readonly projections: FakeProjections | undefined;
  /** Ends every live subscription call with UNAVAILABLE, as a dropped connection does. */
  dropSubscriptions(): void;
  stop(): Promise<void>;
}

export const startProjectionsFake = async (
  options: FakeProjectionsOptions & { readonly systemProjections?: readonly SystemProjection[]; readonly projections?: boolean } = {},
): Promise<ProjectionsFake> => {
  const log = createFakeLog({ systemProjections: options.systemProjections ?? ['$by_category'] });
  const server = new grpc.Server();
  const subscriptions = new Set<(error?: ReturnType<typeof rpcError>) => void>();
  addStreamsService(server, {
    log,
    authenticate: () => 'ok',
    takeFault: () => undefined,
    leader: () => ({ host: '127.0.0.1', port: 2113 }),
    legacyPositions: undefined,
    count: () => undefined,
    subscriptions,
    batchAppends: new Set(),
  });
  const projections = options.projections === false ? undefined : addProjectionsService(server, log, options);
  const port = await new Promise<number>((resolve, reject) =>
    server.bindAsync('127.0.0.1:0', grpc.ServerCredentials.createInsecure(), (error, bound) => (error ? reject(error) : resolve(bound))),
  );
  return {
    connectionString: `esdb://127.0.0.1:${port}?tls=false`,
    log,
    projections,
    dropSubscriptions: () => {
      for (const end of [...subscriptions]) end(rpcError(grpc.status.UNAVAILABLE, 'fake connection lost'));
    },
    stop: () =>
      new Promise<void>((resolve) => {
        projections?.close();
        for (const end of [...subscriptions]) end();
        server.tryShutdown(() => resolve());
        setTimeout(() => {
          server.forceShutdown();
          resolve();
        }, 2000).unref();
      }),
  };
};
