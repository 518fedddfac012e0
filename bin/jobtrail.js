#!/usr/bin/env node
// The `jobtrail` command: loads the TypeScript sources through tsx, so it runs
// from a fresh clone with no build step.
import { register } from 'tsx/esm/api';

register();
await import('../src/cli/bin.ts');
