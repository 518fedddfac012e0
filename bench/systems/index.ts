import type { SystemDefinition, SystemName } from '../support/system.js';
import { bullmq, bullmqAof } from './bullmq.js';
import { graphileBatched, graphileDefault } from './graphile.js';
import { jobtrailEmbedded, jobtrailEmbeddedNormal, jobtrailRabbit } from './jobtrail.js';
import { rawRabbit } from './rawRabbit.js';

/** Every system, in the order of the tables. */
export const systems: readonly SystemDefinition[] = [
  jobtrailEmbedded,
  jobtrailEmbeddedNormal,
  jobtrailRabbit,
  bullmq,
  bullmqAof,
  graphileDefault,
  graphileBatched,
  rawRabbit,
];

export const systemNamed = (name: SystemName): SystemDefinition => {
  const found = systems.find((s) => s.name === name);
  if (!found) throw new Error(`unknown system "${name}"; known: ${systems.map((s) => s.name).join(', ')}`);
  return found;
};
