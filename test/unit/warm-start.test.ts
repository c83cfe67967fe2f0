// G's learning rate when a run goes on from a trained G: nothing while D trains alone, then a
// linear rise to the config's rate.
import assert from 'node:assert/strict';
import { test } from 'node:test';

import { generatorLr } from '../../src/train/warm-start.js';

test('generatorLr: 0 during the D-only steps, then a linear warm-up to the rate, then the rate', () => {
  const init = { discriminatorSteps: 3, generatorWarmup: 4 };
  const rates = [0, 1, 2, 3, 4, 5, 6, 7, 8].map((step) => generatorLr(1e-4, init, step));
  const expected = [0, 0, 0, 0.25e-4, 0.5e-4, 0.75e-4, 1e-4, 1e-4, 1e-4];
  rates.forEach((r, i) => assert.ok(Math.abs(r - expected[i]!) < 1e-12, `step ${i}: ${r}`));
  // Without a warm-up G trains at its rate from the first step after D's.
  assert.equal(generatorLr(1e-4, { discriminatorSteps: 2, generatorWarmup: 0 }, 1), 0);
  assert.equal(generatorLr(1e-4, { discriminatorSteps: 2, generatorWarmup: 0 }, 2), 1e-4);
  assert.equal(generatorLr(1e-4, { discriminatorSteps: 0, generatorWarmup: 0 }, 0), 1e-4);
});
