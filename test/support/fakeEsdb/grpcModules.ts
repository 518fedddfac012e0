// The client's own copies of grpc-js and of its generated protobuf classes,
// so that the fake's messages are the very classes the client decodes with
// (two copies of google-protobuf would not recognise each other's messages).
import { createRequire } from 'node:module';
import type * as Grpc from '@grpc/grpc-js';
import type * as ServerFeaturesGrpcPb from '@eventstore/db-client/generated/serverfeatures_grpc_pb.js';
import type * as ServerFeaturesPb from '@eventstore/db-client/generated/serverfeatures_pb.js';
import type * as SharedPb from '@eventstore/db-client/generated/shared_pb.js';
import type * as StatusPb from '@eventstore/db-client/generated/status_pb.js';
import type * as StreamsGrpcPb from '@eventstore/db-client/generated/streams_grpc_pb.js';
import type * as StreamsPb from '@eventstore/db-client/generated/streams_pb.js';
import type * as AnyPb from 'google-protobuf/google/protobuf/any_pb.js';
import type * as EmptyPb from 'google-protobuf/google/protobuf/empty_pb.js';

const fromClient = createRequire(createRequire(import.meta.url).resolve('@eventstore/db-client'));

export const grpc = fromClient('@grpc/grpc-js') as typeof Grpc;
export const streamsPb = fromClient('../generated/streams_pb') as typeof StreamsPb;
export const sharedPb = fromClient('../generated/shared_pb') as typeof SharedPb;
export const statusPb = fromClient('../generated/status_pb') as typeof StatusPb;
export const serverFeaturesPb = fromClient('../generated/serverfeatures_pb') as typeof ServerFeaturesPb;
export const { StreamsService } = fromClient('../generated/streams_grpc_pb') as typeof StreamsGrpcPb;
export const { ServerFeaturesService } = fromClient('../generated/serverfeatures_grpc_pb') as typeof ServerFeaturesGrpcPb;
// The generated files require google-protobuf by its bare name, so resolve it from one of them.
const fromGenerated = createRequire(fromClient.resolve('../generated/status_pb'));
export const anyPb = fromGenerated('google-protobuf/google/protobuf/any_pb') as typeof AnyPb;
export const emptyPb = fromGenerated('google-protobuf/google/protobuf/empty_pb') as typeof EmptyPb;

export type { Grpc, StreamsPb };

/** A gRPC error status as the server ends a call with: code, text, and the `exception` metadata the client classifies by. */
export const rpcError = (code: Grpc.status, details: string, metadata: Readonly<Record<string, string>> = {}): Grpc.ServiceError => {
  const md = new grpc.Metadata();
  for (const [key, value] of Object.entries(metadata)) md.set(key, value);
  return Object.assign(new Error(`${code} ${grpc.status[code]}: ${details}`), { code, details, metadata: md });
};
