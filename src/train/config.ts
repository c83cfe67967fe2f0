// Run configuration: versioned YAML files checked against a schema, with `--set key=value`
// overrides. Every value a run uses ends up in the resolved config saved in its run directory.
import fs from 'node:fs';
import path from 'node:path';

import { parse as parseYaml, stringify as stringifyYaml } from 'yaml';

export type Field =
  | { kind: 'number'; default?: number; min?: number; max?: number; int?: boolean; doc: string }
  | { kind: 'string'; default?: string; choices?: readonly string[]; doc: string; nullable?: boolean }
  | { kind: 'boolean'; default?: boolean; doc: string }
  | { kind: 'numbers'; default?: readonly number[]; doc: string }
  | { kind: 'strings'; default?: readonly string[]; doc: string }
  | { kind: 'object'; fields: Schema; doc?: string };

export type Schema = Readonly<Record<string, Field>>;

/**
 * The static type of a config a schema accepts, read from the schema itself (declare it
 * `{ … } as const satisfies Schema`): numbers, strings (the union of `choices` when given, `| null`
 * when nullable), booleans, lists and nested sections. resolveConfig checks the same at run time,
 * so a recipe casts its resolved config once, to ConfigOf<its schema>, instead of every value.
 */
export type ConfigOf<S> = { readonly [K in keyof S]: FieldValue<S[K]> };

type FieldValue<F> = F extends { kind: 'number' }
  ? number
  : F extends { kind: 'boolean' }
    ? boolean
    : F extends { kind: 'numbers' }
      ? readonly number[]
      : F extends { kind: 'strings' }
        ? readonly string[]
        : F extends { kind: 'string' }
          ? (F extends { choices: readonly (infer C)[] } ? C : string) | (F extends { nullable: true } ? null : never)
          : F extends { kind: 'object'; fields: infer S }
            ? ConfigOf<S>
            : never;

export class ConfigError extends Error {
  constructor(
    message: string,
    readonly source?: string,
  ) {
    super(source === undefined ? message : `${source}: ${message}`);
  }
}

export type ConfigValue = number | string | boolean | null | number[] | string[] | ConfigObject;
export interface ConfigObject {
  [key: string]: ConfigValue;
}

/** Reads a YAML file into a plain object (no schema yet). */
export function readConfigFile(file: string): ConfigObject {
  let text: string;
  try {
    text = fs.readFileSync(file, 'utf8');
  } catch (e) {
    throw new ConfigError(`cannot read config file: ${(e as Error).message}`, file);
  }
  let raw: unknown;
  try {
    raw = parseYaml(text);
  } catch (e) {
    throw new ConfigError(`invalid YAML: ${(e as Error).message}`, file);
  }
  if (raw === null || typeof raw !== 'object' || Array.isArray(raw))
    throw new ConfigError('expected a mapping at the top level', file);
  return raw as ConfigObject;
}

/**
 * Applies `key.path=value` overrides; the value is read as YAML (so `0.5`, `true`, `[1, 2]` and
 * `null` have their types). Paths must exist in the schema.
 */
export function applyOverrides(cfg: ConfigObject, sets: readonly string[], schema: Schema): ConfigObject {
  const out = structuredClone(cfg);
  for (const s of sets) {
    const eq = s.indexOf('=');
    if (eq <= 0) throw new ConfigError(`--set expects key=value, got '${s}'`);
    const keys = s.slice(0, eq).trim().split('.');
    let value: unknown;
    try {
      value = parseYaml(s.slice(eq + 1));
    } catch (e) {
      throw new ConfigError(`--set ${s}: ${(e as Error).message}`);
    }
    let field: Field | undefined = { kind: 'object', fields: schema };
    let node: ConfigObject = out;
    keys.forEach((k, i) => {
      if (field?.kind !== 'object')
        throw new ConfigError(`--set ${s}: '${keys.slice(0, i).join('.')}' is not a section`);
      const next: Field | undefined = field.fields[k];
      if (next === undefined)
        throw new ConfigError(`--set ${s}: unknown key '${keys.slice(0, i + 1).join('.')}'${suggest(k, field.fields)}`);
      if (i === keys.length - 1) node[k] = value as ConfigValue;
      else {
        const child = node[k];
        if (child === undefined || child === null || typeof child !== 'object' || Array.isArray(child)) node[k] = {};
        node = node[k] as ConfigObject;
      }
      field = next;
    });
  }
  return out;
}

/**
 * Checks a config against a schema and fills defaults. Unknown keys (typos) and missing required
 * values are errors that name the key path; nothing is silently ignored.
 */
export function resolveConfig(raw: ConfigObject, schema: Schema, source?: string): ConfigObject {
  const errors: string[] = [];
  const out = resolveObject(raw, schema, '', errors);
  if (errors.length > 0) throw new ConfigError(`invalid config:\n  ${errors.join('\n  ')}`, source);
  return out;
}

function resolveObject(raw: unknown, schema: Schema, at: string, errors: string[]): ConfigObject {
  const out: ConfigObject = {};
  if (raw === undefined || raw === null) raw = {};
  if (typeof raw !== 'object' || Array.isArray(raw)) {
    errors.push(`${at || '(top)'}: expected a section (mapping), got ${JSON.stringify(raw)}`);
    return out;
  }
  const obj = raw as Record<string, unknown>;
  for (const k of Object.keys(obj)) if (!(k in schema)) errors.push(`${at}${k}: unknown key${suggest(k, schema)}`);
  for (const [k, f] of Object.entries(schema)) {
    const v = resolveField(obj[k], f, `${at}${k}`, errors);
    if (v !== undefined) out[k] = v;
  }
  return out;
}

function resolveField(v: unknown, f: Field, at: string, errors: string[]): ConfigValue | undefined {
  if (f.kind === 'object') return resolveObject(v, f.fields, `${at}.`, errors);
  if (v === undefined) {
    if (f.default !== undefined) return structuredClone(f.default) as ConfigValue;
    if (f.kind === 'string' && f.nullable) return null;
    errors.push(`${at}: required (${f.doc})`);
    return undefined;
  }
  const bad = (what: string): undefined => {
    errors.push(`${at}: expected ${what}, got ${JSON.stringify(v)}`);
    return undefined;
  };
  switch (f.kind) {
    case 'number': {
      if (typeof v !== 'number' || !Number.isFinite(v)) return bad('a number');
      if (f.int && !Number.isSafeInteger(v)) return bad('an integer');
      if (f.min !== undefined && v < f.min) return bad(`a number ≥ ${f.min}`);
      if (f.max !== undefined && v > f.max) return bad(`a number ≤ ${f.max}`);
      return v;
    }
    case 'string': {
      if (v === null && f.nullable) return null;
      if (typeof v !== 'string') return bad('a string');
      if (f.choices && !f.choices.includes(v)) return bad(`one of ${f.choices.join(', ')}`);
      return v;
    }
    case 'boolean':
      return typeof v === 'boolean' ? v : bad('true or false');
    case 'numbers':
      return Array.isArray(v) && v.every((x) => typeof x === 'number' && Number.isFinite(x))
        ? (v as number[])
        : bad('a list of numbers');
    case 'strings':
      return Array.isArray(v) && v.every((x) => typeof x === 'string') ? (v as string[]) : bad('a list of strings');
  }
}

function suggest(k: string, schema: Schema): string {
  let best = '';
  let bestD = Infinity;
  for (const c of Object.keys(schema)) {
    const d = editDistance(k.toLowerCase(), c.toLowerCase());
    if (d < bestD) [best, bestD] = [c, d];
  }
  const keys = Object.keys(schema).join(', ');
  return bestD <= Math.max(2, k.length / 3) ? ` (did you mean '${best}'?)` : ` (known: ${keys})`;
}

function editDistance(a: string, b: string): number {
  const d = Array.from({ length: a.length + 1 }, (_, i) => [i, ...new Array<number>(b.length).fill(0)]);
  for (let j = 1; j <= b.length; j++) d[0]![j] = j;
  for (let i = 1; i <= a.length; i++)
    for (let j = 1; j <= b.length; j++)
      d[i]![j] = Math.min(d[i - 1]![j]! + 1, d[i]![j - 1]! + 1, d[i - 1]![j - 1]! + (a[i - 1] === b[j - 1] ? 0 : 1));
  return d[a.length]![b.length]!;
}

export function configToYaml(cfg: ConfigObject): string {
  return stringifyYaml(cfg);
}

/** Resolves a path in a config relative to the config file's folder (absolute paths unchanged). */
export function configPath(p: string, base: string): string {
  return path.isAbsolute(p) ? p : path.resolve(base, p);
}

/** One line per key of a schema: its dotted path, type, default or range, and meaning (for `train --keys`). */
export function describeSchema(schema: Schema, prefix = ''): string[] {
  const out: string[] = [];
  for (const [name, f] of Object.entries(schema)) {
    const key = `${prefix}${name}`;
    if (f.kind === 'object') {
      out.push(...describeSchema(f.fields, `${key}.`));
      continue;
    }
    let type: string = f.kind;
    if (f.kind === 'number') {
      type = f.int ? 'integer' : 'number';
      if (f.min !== undefined || f.max !== undefined) type += ` in [${f.min ?? '-∞'}, ${f.max ?? '∞'}]`;
    } else if (f.kind === 'string' && f.choices) type = f.choices.join(' | ');
    if (f.kind === 'string' && f.nullable) type += ' | null';
    const dflt =
      f.default === undefined ? (f.kind === 'string' && f.nullable ? 'null' : 'required') : JSON.stringify(f.default);
    out.push(`${key}  (${type}; ${dflt === 'required' ? 'required' : `default ${dflt}`})  ${f.doc}`);
  }
  return out;
}
