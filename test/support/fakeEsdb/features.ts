// The fake's ServerFeatures service, as EventStoreDB 24.10 answers it
// (src/EventStore.Core/Services/Transport/Grpc/ServerFeatures.cs): every
// method of every `event_store.client.*` service the server has mapped, names
// lower-cased, with the features the server lists for some of them. The
// client asks once per connection; seeing Streams/BatchAppend, it appends
// through BatchAppend, as it does against real servers since 21.10.
import { grpc, serverFeaturesPb, ServerFeaturesService, type Grpc } from './grpcModules.js';

/** The version a 24.10 server reports (major.minor.patch). */
export const fakeServerVersion = '24.10.4';

/** The features ServerFeatures.cs attaches to a method. */
const featuresOf = (service: string, method: string): string[] =>
  service.includes('PersistentSubscriptions')
    ? ['stream', 'all']
    : service.includes('Streams') && method.includes('Read')
      ? ['position', 'events']
      : service.includes('Streams') && method.includes('BatchAppend')
        ? ['deadline_duration']
        : service.includes('Projections') && method.includes('Create')
          ? ['track_emitted_streams']
          : [];

/**
 * Adds ServerFeatures to `server`, listing the methods of `services()` (read at each call, so that services added later,
 * such as the Projections service, are listed too). `authenticate` refuses credentials the server does not know, as its
 * authentication middleware does for every call.
 */
export const addServerFeaturesService = (
  server: Grpc.Server,
  services: () => readonly Grpc.ServiceDefinition[],
  authenticate: (metadata: Grpc.Metadata) => 'ok' | 'anonymous' | 'bad',
  count: (method: string) => void,
): void => {
  const getSupportedMethods: Grpc.handleUnaryCall<unknown, InstanceType<typeof serverFeaturesPb.SupportedMethods>> = (call, callback) => {
    count('GetSupportedMethods');
    if (authenticate(call.metadata) === 'bad') {
      return callback(
        Object.assign(new Error('Bad username or password'), { code: grpc.status.UNAUTHENTICATED, details: 'Bad username or password' }),
      );
    }
    const result = new serverFeaturesPb.SupportedMethods();
    result.setEventStoreServerVersion(fakeServerVersion);
    for (const definition of services()) {
      for (const method of Object.values(definition)) {
        // A path is `/<package>.<Service>/<Method>`.
        const [, service = '', name = ''] = /^\/([^/]+)\/([^/]+)$/.exec(method.path) ?? [];
        if (!service.includes('client')) continue;
        const supported = new serverFeaturesPb.SupportedMethod();
        supported.setServiceName(service.toLowerCase());
        supported.setMethodName(name.toLowerCase());
        supported.setFeaturesList(featuresOf(service, name));
        result.addMethods(supported);
      }
    }
    callback(null, result);
  };
  server.addService(ServerFeaturesService, { getSupportedMethods } as unknown as Grpc.UntypedServiceImplementation);
};
