// Command-line errors that print usage instead of a stack trace, and option parsers that name
// the option and the value received.
export class UsageError extends Error {
  constructor(
    message: string,
    readonly help: string,
  ) {
    super(message);
  }
}

export function intOption(name: string, v: string): number {
  const n = Number(v);
  if (!Number.isSafeInteger(n)) throw new UsageError(`${name} must be an integer, got '${v}'`, '');
  return n;
}

export function intList(name: string, v: string): number[] {
  return v.split(',').map((x) => intOption(name, x.trim()));
}

/** A comma-separated option's non-empty items. */
export function list(v: string): string[] {
  return v
    .split(',')
    .map((s) => s.trim())
    .filter((s) => s.length > 0);
}
