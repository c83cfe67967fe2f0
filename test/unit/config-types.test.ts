// ConfigOf<schema> is the static type of what resolveConfig returns for that schema: recipes cast a
// resolved config once and read typed values. The @ts-expect-error lines are the compile-time half of
// the test (`npm run build` fails if a wrong value type-checks); the run-time half checks the values.
import assert from 'node:assert/strict';
import { test } from 'node:test';

import { resolveConfig, type ConfigOf, type Schema } from '../../src/train/config.js';

const schema = {
  steps: { kind: 'number', int: true, min: 1, doc: 'steps' },
  loss: { kind: 'string', choices: ['hinge', 'nonsaturating'], default: 'hinge', doc: 'loss' },
  classifier: { kind: 'string', nullable: true, doc: 'a run' },
  tags: { kind: 'strings', default: [], doc: 'tags' },
  optim: { kind: 'object', fields: { lr: { kind: 'number', default: 1e-4, doc: 'lr' } } },
} as const satisfies Schema;
type Config = ConfigOf<typeof schema>;

test('ConfigOf types what resolveConfig returns, defaults and nested sections included', () => {
  const c = resolveConfig({ steps: 3 }, schema) as unknown as Config;
  const steps: number = c.steps;
  const loss: 'hinge' | 'nonsaturating' = c.loss;
  const classifier: string | null = c.classifier;
  const tags: readonly string[] = c.tags;
  const lr: number = c.optim.lr;
  assert.deepEqual([steps, loss, classifier, tags, lr], [3, 'hinge', null, [], 1e-4]);
  // @ts-expect-error a value outside the choices is not a Config['loss']
  const wrongChoice: Config['loss'] = 'wasserstein';
  // @ts-expect-error a number section is not a string
  const wrongKind: Config['steps'] = '3';
  // @ts-expect-error nullable only where the schema says so
  const wrongNull: Config['steps'] = null;
  void [wrongChoice, wrongKind, wrongNull];
});
