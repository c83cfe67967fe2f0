// Deterministic memory management: tidy() scopes free every tensor created inside them except
// what they return or keep(); dispose() and `using` free one tensor; GC is only a backstop.
import { native } from './native.js';

/** What a scope needs to know of a tensor. */
export interface Scoped {
  readonly disposed: boolean;
  dispose(): void;
}

const SCOPED = Symbol.for('creativeai.scoped');
const scopes: Set<Scoped>[] = [];
const kept = new WeakSet<Scoped>();

export function markScoped(t: Scoped): void {
  (t as unknown as Record<symbol, boolean>)[SCOPED] = true;
  const top = scopes[scopes.length - 1];
  if (top !== undefined && !kept.has(t)) top.add(t);
}

function isScoped(v: unknown): v is Scoped {
  return typeof v === 'object' && v !== null && (v as Record<symbol, unknown>)[SCOPED] === true;
}

/** Finds the tensors in a result: a tensor, or arrays / plain objects / Maps of them. */
function collect(v: unknown, out: Set<Scoped>, seen = new Set<unknown>()): void {
  if (typeof v !== 'object' || v === null || seen.has(v)) return;
  seen.add(v);
  if (isScoped(v)) {
    out.add(v);
    return;
  }
  if (Array.isArray(v)) for (const x of v) collect(x, out, seen);
  else if (v instanceof Map) for (const x of v.values()) collect(x, out, seen);
  else if (Object.getPrototypeOf(v) === Object.prototype) for (const x of Object.values(v)) collect(x, out, seen);
}

/**
 * Runs fn and disposes every tensor created during it, except those it returns (in an array,
 * object or Map too) and those passed to keep(). Returned tensors move to the enclosing scope.
 * @example const loss = tidy(() => bceWithLogits(D.forward(x), ones).mean());
 */
export function tidy<T>(fn: () => T): T {
  const scope = new Set<Scoped>();
  scopes.push(scope);
  let result: T;
  try {
    result = fn();
  } catch (e) {
    scopes.pop();
    for (const t of scope) t.dispose();
    throw e;
  }
  scopes.pop();
  if (result instanceof Promise) {
    for (const t of scope) t.dispose();
    throw new TypeError('tidy() takes a synchronous function: tensors would be freed before the promise settles');
  }
  const survivors = new Set<Scoped>();
  collect(result, survivors);
  for (const t of scope) if (!survivors.has(t)) t.dispose();
  const parent = scopes[scopes.length - 1];
  if (parent !== undefined) for (const t of survivors) if (scope.has(t) && !kept.has(t)) parent.add(t);
  return result;
}

/** Exempts tensors from every enclosing and future tidy() scope (parameters, optimizer state). */
export function keep<T extends Scoped>(t: T): T {
  kept.add(t);
  for (const s of scopes) s.delete(t);
  return t;
}

/** Number of tensor handles alive (created and not yet disposed or collected). */
export function liveTensors(): number {
  return native.liveCount();
}

/** Runs fn with autograd recording switched off. */
export function noGrad<T>(fn: () => T): T {
  const prev = native.setGradEnabled(false);
  try {
    return fn();
  } finally {
    native.setGradEnabled(prev);
  }
}

/** Runs fn with autograd recording switched on (inside a noGrad scope, for example). */
export function enableGrad<T>(fn: () => T): T {
  const prev = native.setGradEnabled(true);
  try {
    return fn();
  } finally {
    native.setGradEnabled(prev);
  }
}

export function isGradEnabled(): boolean {
  return native.isGradEnabled();
}
