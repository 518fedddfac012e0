import tseslint from 'typescript-eslint';

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
