// Image → latent (the GAN overview's "playing with the latent space"): the noise z whose image, for a
// given caption or tags, reproduces a target image, found by optimisation through the frozen
// generator. Several starting points are optimised side by side (one batched forward pass) and the
// closest is kept, since the loss surface of a GAN generator has many poor local minima.
import { cat, noGrad, randn, Generator, type Tensor } from '../engine/index.js';
import { Adam } from '../optim/index.js';
import type { TextToImagePipeline } from './pipeline.js';

export interface ProjectOptions {
  /** Adam steps (default 300). */
  steps?: number;
  /** Starting points optimised together; the best is kept (default 4). */
  starts?: number;
  /** Adam's learning rate on z (default 0.05). */
  lr?: number;
  /**
   * Weight of the prior term (mean(z²) − 1)²: keeps z where the generator was trained (on the shell
   * of N(0, I) of that width) rather than anywhere that happens to fit the pixels (default 0.01).
   */
  prior?: number;
  /** Seed of the starting points (default 0). */
  seed?: number;
  /**
   * Start from the model's encoder's guess (pipe.encoder), the other starts drawn at random (default:
   * when the model has an encoder).
   */
  encoder?: boolean;
  /** Stops the search (it then throws) between steps. */
  signal?: AbortSignal;
  /** Told after every step: the step (1-based) and the best start's pixel loss. */
  onProgress?: (step: number, steps: number, loss: number) => void;
}

export interface Projection {
  /** [1, noiseDim] on the CPU. */
  z: Tensor;
  /** Mean squared error of the best start's image against the target, on [-1, 1] pixels. */
  mse: number;
  /** The best start's pixel loss after each step. */
  curve: number[];
  /** The error of the encoder's guess before any step (when it was used). */
  encoderMse?: number;
}

/**
 * The latent of `target` ([3, R, R] or [1, 3, R, R] in [-1, 1], R the model's final side) under
 * `caption`. The generator's weights are not touched.
 */
export async function project(
  pipe: TextToImagePipeline,
  target: Tensor,
  caption: string,
  o: ProjectOptions = {},
): Promise<Projection> {
  const steps = o.steps ?? 300;
  const starts = o.starts ?? 4;
  const prior = o.prior ?? 0.01;
  if (!Number.isInteger(steps) || steps < 1) throw new RangeError(`steps must be a positive integer, got ${steps}`);
  if (!Number.isInteger(starts) || starts < 1) throw new RangeError(`starts must be a positive integer, got ${starts}`);
  const side = pipe.resolution;
  const shape = target.shape;
  const ok = (shape.length === 3 || (shape.length === 4 && shape[0] === 1)) && shape.at(-3) === 3;
  if (!ok || shape.at(-1) !== side || shape.at(-2) !== side)
    throw new RangeError(`the target must be one 3×${side}×${side} image, got [${shape.join(', ')}]`);
  const check = pipe.check(caption);
  if (check.error !== undefined) throw new Error(check.error);

  using x0 = target.reshape(1, 3, side, side);
  using x1 = x0.to(pipe.device);
  using xs = x1.expand(starts, 3, side, side);
  using x = xs.contiguous();
  const z0 = randn([starts, pipe.noiseDim], { generator: new Generator(o.seed ?? 0) });
  const encoder = o.encoder ?? pipe.encoder !== undefined;
  if (encoder && pipe.encoder === undefined) throw new Error(`${pipe.source} has no latent encoder`);
  let first: Tensor;
  if (encoder) {
    // Row 0 is the encoder's guess; the rest stay random, in case the guess sits in a poor basin.
    const guess = noGrad(() => {
      using g = pipe.encoder!.forward(x1);
      return g.to('cpu');
    });
    using rest = z0.narrow(0, 1, starts - 1);
    first = starts > 1 ? cat([guess, rest], 0) : guess.alias();
    guess.dispose();
  } else first = z0.alias();
  z0.dispose();
  using z = first.to(pipe.device).requiresGrad_(true);
  first.dispose();
  const captions = new Array<string>(starts).fill(caption);
  const opt = new Adam([z], { lr: o.lr ?? 0.05 });
  const curve: number[] = [];
  let encoderMse: number | undefined;
  if (encoder)
    encoderMse = noGrad(() => {
      using row = z.narrow(0, 0, 1);
      using image = pipe.render(row, [caption]);
      using diff = image.sub(x1);
      using sq = diff.square();
      using m = sq.mean();
      return m.item();
    });
  try {
    for (let step = 1; step <= steps; step++) {
      using images = pipe.render(z, captions);
      using diff = images.sub(x);
      using sq = diff.square();
      // Per start: its pixel error, and the prior on its z.
      using perStart = sq.mean([1, 2, 3]);
      using zsq = z.square();
      using zmean = zsq.mean([1]);
      using shell = zmean.sub(1);
      using shell2 = shell.square();
      using pen = shell2.mul(prior);
      using total = perStart.add(pen);
      using loss = total.sum();
      opt.backwardStep(loss);
      const errors = perStart.toArray() as number[];
      const best = Math.min(...errors);
      curve.push(best);
      o.onProgress?.(step, steps, best);
      // A long search must not hold its event loop: a server thread answers messages, a queue worker
      // renews its job's lock, between steps.
      await new Promise<void>((r) => setImmediate(r));
      if (o.signal?.aborted) throw new Error('the projection was cancelled');
    }
    // The final images, to choose the start that fits best.
    const errors = noGrad(() => {
      using images = pipe.render(z, captions);
      using diff = images.sub(x);
      using sq = diff.square();
      using perStart = sq.mean([1, 2, 3]);
      return perStart.toArray() as number[];
    });
    const best = errors.indexOf(Math.min(...errors));
    using fixed = z.detach();
    using row = fixed.narrow(0, best, 1);
    using cpu = row.to('cpu');
    return { z: cpu.contiguous(), mse: errors[best]!, curve, ...(encoderMse !== undefined ? { encoderMse } : {}) };
  } finally {
    opt.zeroGrad();
    opt.dispose();
  }
}
