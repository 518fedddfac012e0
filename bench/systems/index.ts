import type { SystemDefinition, SystemName } from '../support/system.js';
import { bullmq } from './bullmq.js';
import { graphileBatched, graphileDefault } from './graphile.js';
import { jobtrailEmbedded, jobtrailRabbit } from './jobtrail.js';
import { rawRabbit } from './rawRabbit.js';

/** Every system, in the order of the tables. */
export const systems: readonly SystemDefinition[] = [jobtrailEmbedded, jobtrailRabbit, bullmq, graphileDefault, graphileBatched, rawRabbit];

export const systemNamed = (name: SystemName): SystemDefinition => {
  const found = systems.find((s) => s.name === name);
  if (!found) throw new Error(`unknown system "${name}"; known: ${systems.map((s) => s.name).join(', ')}`);
  return found;
};
