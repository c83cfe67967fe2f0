// Inception-v3 as FID measures with it: the network of TensorFlow's 2015 ImageNet graph
// (inception-2015-12-05) that Heusel et al. 2017 computed FID with, in the form pytorch-fid ports
// it to (torchvision's Inception3 with 1008 classes, no auxiliary head, and its FIDInceptionA/C/E
// patches). Szegedy et al. 2016, "Rethinking the Inception Architecture for Computer Vision".
//
// What differs from torchvision's ImageNet Inception-v3, and must, for FID values to be comparable:
//  - the pooling branches of the A, C and E blocks average without counting the zero padding
//    (TensorFlow's avg_pool; PyTorch's count_include_pad=False);
//  - the last E block (Mixed_7c) max-pools in that branch, a quirk of the 2015 graph;
//  - 1008 output classes (the graph's own label map), BatchNorm eps 0.001.
// Parameter names are pytorch-fid's state-dict names (Conv2d_1a_3x3.conv.weight, …, fc.weight), so
// its converted weights load as they are. Weights come from a file (eval/inception.ts): they
// cannot be trained or downloaded here.
import { F, cat, tidy, type Tensor } from '../engine/index.js';
import { BatchNorm2d, Conv2d, Linear, Module } from '../nn/index.js';

type Pair = number | [number, number];

/** Conv (no bias) → BatchNorm(eps 0.001) → ReLU: torchvision's BasicConv2d. */
export class BasicConv2d extends Module {
  readonly conv: Conv2d;
  readonly bn: BatchNorm2d;

  constructor(inC: number, outC: number, kernel: Pair, o: { stride?: Pair; padding?: Pair } = {}) {
    super();
    this.conv = this.module('conv', new Conv2d(inC, outC, kernel, { ...o, bias: false }));
    // TensorFlow's batch-norm epsilon; PyTorch's default 1e-5 would shift every activation.
    this.bn = this.module('bn', new BatchNorm2d(outC, { eps: 0.001 }));
  }

  forward(x: Tensor): Tensor {
    return tidy(() => this.bn.forward(this.conv.forward(x)).relu());
  }
}

/** The 3×3, stride-1, padded pooling branch input; TensorFlow averages over the real pixels only. */
function poolBranch(x: Tensor, kind: 'avg' | 'max'): Tensor {
  return kind === 'avg'
    ? F.avgPool2d(x, 3, { stride: 1, padding: 1, countIncludePad: false })
    : F.maxPool2d(x, 3, { stride: 1, padding: 1 });
}

/** 35×35 block (Mixed_5b–5d): 1×1, 5×5, double 3×3 and pooled branches. */
export class InceptionA extends Module {
  readonly branch1x1: BasicConv2d;
  readonly branch5x5_1: BasicConv2d;
  readonly branch5x5_2: BasicConv2d;
  readonly branch3x3dbl_1: BasicConv2d;
  readonly branch3x3dbl_2: BasicConv2d;
  readonly branch3x3dbl_3: BasicConv2d;
  readonly branch_pool: BasicConv2d;

  constructor(inC: number, poolFeatures: number) {
    super();
    this.branch1x1 = this.module('branch1x1', new BasicConv2d(inC, 64, 1));
    this.branch5x5_1 = this.module('branch5x5_1', new BasicConv2d(inC, 48, 1));
    this.branch5x5_2 = this.module('branch5x5_2', new BasicConv2d(48, 64, 5, { padding: 2 }));
    this.branch3x3dbl_1 = this.module('branch3x3dbl_1', new BasicConv2d(inC, 64, 1));
    this.branch3x3dbl_2 = this.module('branch3x3dbl_2', new BasicConv2d(64, 96, 3, { padding: 1 }));
    this.branch3x3dbl_3 = this.module('branch3x3dbl_3', new BasicConv2d(96, 96, 3, { padding: 1 }));
    this.branch_pool = this.module('branch_pool', new BasicConv2d(inC, poolFeatures, 1));
  }

  forward(x: Tensor): Tensor {
    return tidy(() =>
      cat(
        [
          this.branch1x1.forward(x),
          this.branch5x5_2.forward(this.branch5x5_1.forward(x)),
          this.branch3x3dbl_3.forward(this.branch3x3dbl_2.forward(this.branch3x3dbl_1.forward(x))),
          this.branch_pool.forward(poolBranch(x, 'avg')),
        ],
        1,
      ),
    );
  }
}

/** Grid reduction 35×35 → 17×17 (Mixed_6a). */
export class InceptionB extends Module {
  readonly branch3x3: BasicConv2d;
  readonly branch3x3dbl_1: BasicConv2d;
  readonly branch3x3dbl_2: BasicConv2d;
  readonly branch3x3dbl_3: BasicConv2d;

  constructor(inC: number) {
    super();
    this.branch3x3 = this.module('branch3x3', new BasicConv2d(inC, 384, 3, { stride: 2 }));
    this.branch3x3dbl_1 = this.module('branch3x3dbl_1', new BasicConv2d(inC, 64, 1));
    this.branch3x3dbl_2 = this.module('branch3x3dbl_2', new BasicConv2d(64, 96, 3, { padding: 1 }));
    this.branch3x3dbl_3 = this.module('branch3x3dbl_3', new BasicConv2d(96, 96, 3, { stride: 2 }));
  }

  forward(x: Tensor): Tensor {
    return tidy(() =>
      cat(
        [
          this.branch3x3.forward(x),
          this.branch3x3dbl_3.forward(this.branch3x3dbl_2.forward(this.branch3x3dbl_1.forward(x))),
          F.maxPool2d(x, 3, { stride: 2 }),
        ],
        1,
      ),
    );
  }
}

/** 17×17 block with factorised 7×7 convolutions (Mixed_6b–6e). */
export class InceptionC extends Module {
  readonly branch1x1: BasicConv2d;
  readonly branch7x7_1: BasicConv2d;
  readonly branch7x7_2: BasicConv2d;
  readonly branch7x7_3: BasicConv2d;
  readonly branch7x7dbl_1: BasicConv2d;
  readonly branch7x7dbl_2: BasicConv2d;
  readonly branch7x7dbl_3: BasicConv2d;
  readonly branch7x7dbl_4: BasicConv2d;
  readonly branch7x7dbl_5: BasicConv2d;
  readonly branch_pool: BasicConv2d;

  constructor(inC: number, c7: number) {
    super();
    const row = { padding: [0, 3] as [number, number] };
    const col = { padding: [3, 0] as [number, number] };
    this.branch1x1 = this.module('branch1x1', new BasicConv2d(inC, 192, 1));
    this.branch7x7_1 = this.module('branch7x7_1', new BasicConv2d(inC, c7, 1));
    this.branch7x7_2 = this.module('branch7x7_2', new BasicConv2d(c7, c7, [1, 7], row));
    this.branch7x7_3 = this.module('branch7x7_3', new BasicConv2d(c7, 192, [7, 1], col));
    this.branch7x7dbl_1 = this.module('branch7x7dbl_1', new BasicConv2d(inC, c7, 1));
    this.branch7x7dbl_2 = this.module('branch7x7dbl_2', new BasicConv2d(c7, c7, [7, 1], col));
    this.branch7x7dbl_3 = this.module('branch7x7dbl_3', new BasicConv2d(c7, c7, [1, 7], row));
    this.branch7x7dbl_4 = this.module('branch7x7dbl_4', new BasicConv2d(c7, c7, [7, 1], col));
    this.branch7x7dbl_5 = this.module('branch7x7dbl_5', new BasicConv2d(c7, 192, [1, 7], row));
    this.branch_pool = this.module('branch_pool', new BasicConv2d(inC, 192, 1));
  }

  forward(x: Tensor): Tensor {
    return tidy(() => {
      const b7 = this.branch7x7_3.forward(this.branch7x7_2.forward(this.branch7x7_1.forward(x)));
      let d = this.branch7x7dbl_1.forward(x);
      for (const m of [this.branch7x7dbl_2, this.branch7x7dbl_3, this.branch7x7dbl_4, this.branch7x7dbl_5])
        d = m.forward(d);
      return cat([this.branch1x1.forward(x), b7, d, this.branch_pool.forward(poolBranch(x, 'avg'))], 1);
    });
  }
}

/** Grid reduction 17×17 → 8×8 (Mixed_7a). */
export class InceptionD extends Module {
  readonly branch3x3_1: BasicConv2d;
  readonly branch3x3_2: BasicConv2d;
  readonly branch7x7x3_1: BasicConv2d;
  readonly branch7x7x3_2: BasicConv2d;
  readonly branch7x7x3_3: BasicConv2d;
  readonly branch7x7x3_4: BasicConv2d;

  constructor(inC: number) {
    super();
    this.branch3x3_1 = this.module('branch3x3_1', new BasicConv2d(inC, 192, 1));
    this.branch3x3_2 = this.module('branch3x3_2', new BasicConv2d(192, 320, 3, { stride: 2 }));
    this.branch7x7x3_1 = this.module('branch7x7x3_1', new BasicConv2d(inC, 192, 1));
    this.branch7x7x3_2 = this.module('branch7x7x3_2', new BasicConv2d(192, 192, [1, 7], { padding: [0, 3] }));
    this.branch7x7x3_3 = this.module('branch7x7x3_3', new BasicConv2d(192, 192, [7, 1], { padding: [3, 0] }));
    this.branch7x7x3_4 = this.module('branch7x7x3_4', new BasicConv2d(192, 192, 3, { stride: 2 }));
  }

  forward(x: Tensor): Tensor {
    return tidy(() => {
      const b3 = this.branch3x3_2.forward(this.branch3x3_1.forward(x));
      let b7 = this.branch7x7x3_1.forward(x);
      for (const m of [this.branch7x7x3_2, this.branch7x7x3_3, this.branch7x7x3_4]) b7 = m.forward(b7);
      return cat([b3, b7, F.maxPool2d(x, 3, { stride: 2 })], 1);
    });
  }
}

/** 8×8 block with split 1×3 / 3×1 outputs (Mixed_7b: average pooling; Mixed_7c: max pooling). */
export class InceptionE extends Module {
  readonly branch1x1: BasicConv2d;
  readonly branch3x3_1: BasicConv2d;
  readonly branch3x3_2a: BasicConv2d;
  readonly branch3x3_2b: BasicConv2d;
  readonly branch3x3dbl_1: BasicConv2d;
  readonly branch3x3dbl_2: BasicConv2d;
  readonly branch3x3dbl_3a: BasicConv2d;
  readonly branch3x3dbl_3b: BasicConv2d;
  readonly branch_pool: BasicConv2d;

  constructor(
    inC: number,
    readonly pool: 'avg' | 'max',
  ) {
    super();
    const row = { padding: [0, 1] as [number, number] };
    const col = { padding: [1, 0] as [number, number] };
    this.branch1x1 = this.module('branch1x1', new BasicConv2d(inC, 320, 1));
    this.branch3x3_1 = this.module('branch3x3_1', new BasicConv2d(inC, 384, 1));
    this.branch3x3_2a = this.module('branch3x3_2a', new BasicConv2d(384, 384, [1, 3], row));
    this.branch3x3_2b = this.module('branch3x3_2b', new BasicConv2d(384, 384, [3, 1], col));
    this.branch3x3dbl_1 = this.module('branch3x3dbl_1', new BasicConv2d(inC, 448, 1));
    this.branch3x3dbl_2 = this.module('branch3x3dbl_2', new BasicConv2d(448, 384, 3, { padding: 1 }));
    this.branch3x3dbl_3a = this.module('branch3x3dbl_3a', new BasicConv2d(384, 384, [1, 3], row));
    this.branch3x3dbl_3b = this.module('branch3x3dbl_3b', new BasicConv2d(384, 384, [3, 1], col));
    this.branch_pool = this.module('branch_pool', new BasicConv2d(inC, 192, 1));
  }

  forward(x: Tensor): Tensor {
    return tidy(() => {
      const s = this.branch3x3_1.forward(x);
      const d = this.branch3x3dbl_2.forward(this.branch3x3dbl_1.forward(x));
      return cat(
        [
          this.branch1x1.forward(x),
          this.branch3x3_2a.forward(s),
          this.branch3x3_2b.forward(s),
          this.branch3x3dbl_3a.forward(d),
          this.branch3x3dbl_3b.forward(d),
          this.branch_pool.forward(poolBranch(x, this.pool)),
        ],
        1,
      );
    });
  }
}

export interface InceptionOutputs {
  /** pool3: the 2048-d global average of Mixed_7c, the FID/KID feature [N, 2048]. */
  pool: Tensor;
  /** fc(pool): the 1008 class logits [N, 1008]. */
  logits: Tensor;
  /**
   * pool·Wᵀ without the fc bias [N, 1008]: the logits the reference Inception Score code
   * (Salimans et al. 2016) takes from the graph's softmax/logits/MatMul, as torch-fidelity does.
   */
  logitsUnbiased: Tensor;
}

export interface InceptionV3Options {
  /**
   * Resize inputs to 299×299 bilinearly (align_corners false) first, as pytorch-fid does
   * (default true). Without it any side ≥ 75 runs: the network is convolutional up to pool3.
   */
  resizeInput?: boolean;
}

/** The FID Inception-v3 (1008 classes, no auxiliary classifier), in eval mode from the start. */
export class InceptionV3 extends Module {
  static readonly INPUT_SIZE = 299;
  static readonly FEATURES = 2048;
  static readonly CLASSES = 1008;
  readonly resizeInput: boolean;
  readonly Conv2d_1a_3x3: BasicConv2d;
  readonly Conv2d_2a_3x3: BasicConv2d;
  readonly Conv2d_2b_3x3: BasicConv2d;
  readonly Conv2d_3b_1x1: BasicConv2d;
  readonly Conv2d_4a_3x3: BasicConv2d;
  /** Mixed_5b … Mixed_7c in order. */
  readonly mixed: (InceptionA | InceptionB | InceptionC | InceptionD | InceptionE)[];
  readonly fc: Linear;

  constructor(o: InceptionV3Options = {}) {
    super();
    this.resizeInput = o.resizeInput ?? true;
    this.Conv2d_1a_3x3 = this.module('Conv2d_1a_3x3', new BasicConv2d(3, 32, 3, { stride: 2 }));
    this.Conv2d_2a_3x3 = this.module('Conv2d_2a_3x3', new BasicConv2d(32, 32, 3));
    this.Conv2d_2b_3x3 = this.module('Conv2d_2b_3x3', new BasicConv2d(32, 64, 3, { padding: 1 }));
    this.Conv2d_3b_1x1 = this.module('Conv2d_3b_1x1', new BasicConv2d(64, 80, 1));
    this.Conv2d_4a_3x3 = this.module('Conv2d_4a_3x3', new BasicConv2d(80, 192, 3));
    this.mixed = (
      [
        ['Mixed_5b', new InceptionA(192, 32)],
        ['Mixed_5c', new InceptionA(256, 64)],
        ['Mixed_5d', new InceptionA(288, 64)],
        ['Mixed_6a', new InceptionB(288)],
        ['Mixed_6b', new InceptionC(768, 128)],
        ['Mixed_6c', new InceptionC(768, 160)],
        ['Mixed_6d', new InceptionC(768, 160)],
        ['Mixed_6e', new InceptionC(768, 192)],
        ['Mixed_7a', new InceptionD(768)],
        ['Mixed_7b', new InceptionE(1280, 'avg')],
        ['Mixed_7c', new InceptionE(2048, 'max')],
      ] as const
    ).map(([name, m]) => this.module(name, m));
    this.fc = this.module('fc', new Linear(InceptionV3.FEATURES, InceptionV3.CLASSES));
    // Only ever used as a fixed feature extractor: batch statistics would make features depend on
    // the batch (and dropout before fc is the identity in eval mode, so it is left out).
    this.eval();
    this.requiresGrad_(false);
  }

  /** pool3 features [N, 2048] of images [N, 3, H, W] in [-1, 1]. */
  features(images: Tensor): Tensor {
    if (images.rank !== 4 || images.size(1) !== 3)
      throw new TypeError(`InceptionV3 expects images [N, 3, H, W], got [${images.shape.join(', ')}]`);
    const s = InceptionV3.INPUT_SIZE;
    // pytorch-fid scales [0, 1] inputs to [-1, 1]; the project's images already are in [-1, 1].
    let x =
      this.resizeInput && (images.size(2) !== s || images.size(3) !== s)
        ? F.interpolate(images, { size: s, mode: 'bilinear', alignCorners: false })
        : images.alias();
    // Each activation is freed as soon as the next exists: at 299 px the stem's maps are ~5 MB
    // per image, too much to keep for a whole batch until the end of a tidy scope.
    const then = (f: (t: Tensor) => Tensor): void => {
      try {
        const y = f(x);
        x.dispose();
        x = y;
      } catch (e) {
        x.dispose();
        throw e;
      }
    };
    then((t) => this.Conv2d_1a_3x3.forward(t));
    then((t) => this.Conv2d_2a_3x3.forward(t));
    then((t) => this.Conv2d_2b_3x3.forward(t));
    then((t) => F.maxPool2d(t, 3, { stride: 2 }));
    then((t) => this.Conv2d_3b_1x1.forward(t));
    then((t) => this.Conv2d_4a_3x3.forward(t));
    then((t) => F.maxPool2d(t, 3, { stride: 2 }));
    for (const m of this.mixed) then((t) => m.forward(t));
    then((t) => t.mean([2, 3]));
    return x;
  }

  forward(images: Tensor): InceptionOutputs {
    return tidy(() => {
      const pool = this.features(images);
      return { pool, logits: this.fc.forward(pool), logitsUnbiased: pool.matmul(this.fc.weight.t()) };
    });
  }
}
