// KurrentDB's own projection runtime (`@kurrent/projections-testing`: the
// server's V1 engine as a native library), as the parity test and the
// projection-cost benchmark load it. It needs glibc >= 2.38; `npm test` and
// `npm run bench:projections` provide one (test/support/provision.js).

/** A projection under test in KurrentDB's runtime. */
export interface KurrentTest {
  feed(event: unknown): { status: string; reason?: string };
  getState(partition?: string): unknown;
  getSharedState(): unknown;
  dispose(): void;
}
export type CreateProjection = (source: string, options: { engineVersion: 1 | 2 }) => { validate(): unknown; test(): KurrentTest };

/** The runtime, or why it does not load here. */
export const loadKurrentRuntime = async (): Promise<{ createProjection: CreateProjection } | { reason: string }> => {
  try {
    const mod = (await import('@kurrent/projections-testing')) as unknown as { createProjection: CreateProjection };
    // The native runtime loads on first use, not on import.
    mod.createProjection('fromAll().when({})', { engineVersion: 1 }).validate();
    return mod;
  } catch (err) {
    return { reason: err instanceof Error ? err.message : String(err) };
  }
};
