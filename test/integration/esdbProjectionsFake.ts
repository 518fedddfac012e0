// A fake EventStoreDB with the Projections service, for the projection tests:
// startFakeEsdb with test/support/fakeEsdb/projections.ts as its extra service,
// `$by_category` on unless told otherwise.
import { startFakeEsdb } from '../support/fakeEsdb/index.js';
import type { FakeLog, SystemProjection } from '../support/fakeEsdb/log.js';
import { addProjectionsService, type FakeProjections, type FakeProjectionsOptions } from '../support/fakeEsdb/projections.js';

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
  let projections: FakeProjections | undefined;
  const fake = await startFakeEsdb({
    systemProjections: options.systemProjections ?? ['$by_category'],
    ...(options.projections === false
      ? {}
      : {
          services: (server, log) => {
            projections = addProjectionsService(server, log, options);
          },
        }),
  });
  return {
    connectionString: fake.connectionString,
    log: fake.log,
    projections,
    dropSubscriptions: () => fake.dropSubscriptions(),
    stop: async () => {
      projections?.close();
      await fake.stop();
    },
  };
};
