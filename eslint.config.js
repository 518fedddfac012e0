import tseslint from 'typescript-eslint';

// The edges: the CLI, the dashboard, the demo. Nothing below them imports them.
const edges = ['cli', 'dashboard', 'demo'];
// What sits above the core: the edges, the producer, the presentation and the test kit.
const above = ['producer', 'present', 'testing', ...edges];
/** One rule per layer: its files may not import these folders of src/ (or src/engine.ts). */
const layers = (rules) =>
  rules.map(([files, forbidden]) => ({
    files,
    rules: {
      'no-restricted-imports': [
        'error',
        {
          patterns: [
            {
              group: forbidden.flatMap((name) => (name === 'engine' ? ['**/engine.js'] : [`**/${name}/*`, `**/${name}/**`])),
              message: 'A layer imports only the layers below it (docs/architecture.md#layers).',
            },
          ],
        },
      ],
    },
  }));

export default tseslint.config(
  { ignores: ['dist/**', 'node_modules/**', 'projections/**', '.jobtrail/**', 'test-output/**'] },
  ...tseslint.configs.recommended,
  {
    rules: {
      '@typescript-eslint/no-unused-vars': ['error', { argsIgnorePattern: '^_', varsIgnorePattern: '^_' }],
      'no-restricted-syntax': [
        'error',
        { selector: 'TSEnumDeclaration', message: 'No enums: use a literal union with a companion const object.' },
        { selector: 'TSModuleDeclaration[kind="namespace"]', message: 'No namespaces.' },
        { selector: 'ExportAllDeclaration', message: 'Export by name, not export *.' },
      ],
    },
  },
  // The layers (docs/architecture.md#layers): a folder imports only the ones below it.
  ...layers([
    [
      ['src/eventStore/**', 'src/broker/**'],
      ['jobStore', 'worker', 'projections', 'backends', 'conductor', 'engine', ...above],
    ],
    [
      ['src/jobStore/**', 'src/projections/**'],
      ['worker', 'backends', 'conductor', 'engine', ...above],
    ],
    [['src/worker/**'], ['projections', 'backends', 'conductor', 'engine', ...above]],
    // Tracing is core: the store layer keeps trace contexts in event metadata.
    [['src/tracing/**'], ['eventStore', 'broker', 'jobStore', 'worker', 'projections', 'backends', 'conductor', 'engine', ...above]],
    [['src/backends/**'], ['worker', 'conductor', 'engine', ...above]],
    [['src/conductor/**'], ['engine', ...above]],
    // Recurring jobs sit on the conductor: they enqueue runs as any producer does.
    [['src/schedules/**'], ['engine', ...above]],
    [['src/testing/**'], ['backends', 'conductor', 'engine', ...above]],
    [['src/producer/**'], ['engine', ...edges]],
    [['src/present/**'], ['backends', 'conductor', 'engine', ...edges]],
    [['src/dashboard/**'], ['cli', 'demo']],
    // Metrics (docs/metrics.md): the observer the worker and conductor call, and prom-client's side, below the conductor.
    [['src/metrics/**'], ['conductor', 'engine', ...above]],
    [['src/demo/**'], ['cli', 'dashboard']],
  ]),
  {
    files: ['src/job/**'],
    rules: {
      'no-restricted-imports': ['error', { patterns: ['node:*', 'amqplib', '@eventstore/*', 'better-sqlite3'] }],
      'no-restricted-properties': [
        'error',
        { object: 'Date', property: 'now', message: 'No clock in src/job: pass time in.' },
        { object: 'Math', property: 'random', message: 'No randomness in src/job: pass draws in.' },
      ],
    },
  },
);
