import { parseArgs, type ParseArgsConfig } from 'node:util';

type Options = NonNullable<ParseArgsConfig['options']>;

/** Parses `argv` with `node:util`'s parser; prints usage and exits on `--help` or a bad flag. */
export const parseBenchArgs = <O extends Options>(options: O, usage: string) => {
  try {
    const parsed = parseArgs({
      args: process.argv.slice(2),
      options: { ...options, help: { type: 'boolean' } },
      strict: true,
      allowPositionals: false,
    });
    if ((parsed.values as Record<string, unknown>)['help'] === true) {
      console.log(usage);
      process.exit(0);
    }
    return parsed.values as { [K in keyof O]?: O[K]['type'] extends 'boolean' ? boolean : string };
  } catch (error) {
    console.error(`${(error as Error).message}\n\n${usage}`);
    process.exit(2);
  }
};

/** A whole number > 0 from a flag or an environment variable, or the default; exits with a clear message when invalid. */
export const positiveInt = (name: string, text: string | undefined, fallback: number): number => {
  if (text === undefined || text === '') return fallback;
  const n = Number(text.replaceAll('_', '').replaceAll(',', ''));
  if (!Number.isInteger(n) || n < 1) {
    console.error(`${name} must be a whole number ≥ 1, got ${JSON.stringify(text)}`);
    process.exit(2);
  }
  return n;
};
