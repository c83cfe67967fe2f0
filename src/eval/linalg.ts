// Dense symmetric linear algebra in float64 for FID (Heusel et al. 2017): the engine has no
// eigendecomposition, so this is the EISPACK tred2/tql2 pair (Householder tridiagonalisation, then
// implicit QL with Wilkinson-type shifts), as in JAMA and Numerical Recipes §11.2–11.3 (Press et
// al. 2007), and Golub & Van Loan, Matrix Computations §8.3.
//
// Cost: about (8/3)n³ flops for the reduction and its accumulation plus ~3n³ for the QL rotations
// with vectors; (4/3)n³ + O(n²) for eigenvalues only. The working matrix is kept transposed so every
// inner loop walks contiguous memory. Single-threaded JavaScript, measured on a busy 2-core x86
// machine: n = 256 ≈ 0.2 s with vectors, 30 ms values only; n = 2048 ≈ 48 s and 10 s, so one
// FID at D = 2048 (traceSqrtProduct: both, plus two BLAS products) takes about a minute.
import { noGrad, tensor, tidy } from '../engine/index.js';

export interface SymmetricEigen {
  /** Eigenvalues in ascending order. */
  values: Float64Array;
  /** Row-major n×n; column j is the unit eigenvector of values[j] (A = V·diag(values)·Vᵀ). */
  vectors: Float64Array;
}

function check(a: Float64Array, n: number, what: string): void {
  if (!Number.isInteger(n) || n < 1) throw new RangeError(`${what}: n must be a positive integer, got ${n}`);
  if (a.length !== n * n) throw new RangeError(`${what}: expected ${n}×${n} = ${n * n} values, got ${a.length}`);
  for (let i = 0; i < a.length; i++)
    if (!Number.isFinite(a[i]!)) throw new RangeError(`${what}: the matrix holds a non-finite value at ${i}`);
}

/** (A + Aᵀ)/2: float sums (BLAS Gram matrices) are symmetric only up to rounding. */
function symmetrised(a: Float64Array, n: number): Float64Array {
  const w = new Float64Array(n * n);
  for (let i = 0; i < n; i++) {
    w[i * n + i] = a[i * n + i]!;
    for (let j = i + 1; j < n; j++) {
      const v = 0.5 * (a[i * n + j]! + a[j * n + i]!);
      w[i * n + j] = v;
      w[j * n + i] = v;
    }
  }
  return w;
}

/**
 * Householder reduction to tridiagonal form (EISPACK tred2 via JAMA). `w` holds Vᵀ: JAMA's V[a][b]
 * is w[b*n + a], so the column sweeps of the original become row sweeps here. On return d is the
 * diagonal, e[1..n-1] the subdiagonal, and with `vectors` w holds the accumulated Qᵀ.
 */
function tred2(w: Float64Array, n: number, d: Float64Array, e: Float64Array, vectors: boolean): void {
  for (let j = 0; j < n; j++) d[j] = w[j * n + n - 1]!;
  for (let i = n - 1; i > 0; i--) {
    let scale = 0;
    let h = 0;
    for (let k = 0; k < i; k++) scale += Math.abs(d[k]!);
    if (scale === 0) {
      e[i] = d[i - 1]!;
      for (let j = 0; j < i; j++) {
        d[j] = w[j * n + i - 1]!;
        w[j * n + i] = 0;
        w[i * n + j] = 0;
      }
    } else {
      // Householder vector, scaled against under/overflow.
      for (let k = 0; k < i; k++) {
        d[k] = d[k]! / scale;
        h += d[k]! * d[k]!;
      }
      let f = d[i - 1]!;
      let g = Math.sqrt(h);
      if (f > 0) g = -g;
      e[i] = scale * g;
      h -= f * g;
      d[i - 1] = f - g;
      for (let j = 0; j < i; j++) e[j] = 0;
      for (let j = 0; j < i; j++) {
        const rj = j * n;
        f = d[j]!;
        w[i * n + j] = f;
        g = e[j]! + w[rj + j]! * f;
        for (let k = j + 1; k <= i - 1; k++) {
          const v = w[rj + k]!;
          g += v * d[k]!;
          e[k] = e[k]! + v * f;
        }
        e[j] = g;
      }
      f = 0;
      for (let j = 0; j < i; j++) {
        e[j] = e[j]! / h;
        f += e[j]! * d[j]!;
      }
      const hh = f / (h + h);
      for (let j = 0; j < i; j++) e[j] = e[j]! - hh * d[j]!;
      for (let j = 0; j < i; j++) {
        const rj = j * n;
        f = d[j]!;
        g = e[j]!;
        for (let k = j; k <= i - 1; k++) w[rj + k] = w[rj + k]! - (f * e[k]! + g * d[k]!);
        d[j] = w[rj + i - 1]!;
        w[rj + i] = 0;
      }
    }
    d[i] = h;
  }
  if (!vectors) {
    // Accumulation leaves the diagonal untouched until it copies it out: read it directly.
    for (let j = 0; j < n; j++) d[j] = w[j * n + j]!;
    e[0] = 0;
    return;
  }
  for (let i = 0; i < n - 1; i++) {
    const ri1 = (i + 1) * n;
    w[i * n + n - 1] = w[i * n + i]!;
    w[i * n + i] = 1;
    const h = d[i + 1]!;
    if (h !== 0) {
      for (let k = 0; k <= i; k++) d[k] = w[ri1 + k]! / h;
      for (let j = 0; j <= i; j++) {
        const rj = j * n;
        let g = 0;
        for (let k = 0; k <= i; k++) g += w[ri1 + k]! * w[rj + k]!;
        for (let k = 0; k <= i; k++) w[rj + k] = w[rj + k]! - g * d[k]!;
      }
    }
    for (let k = 0; k <= i; k++) w[ri1 + k] = 0;
  }
  for (let j = 0; j < n; j++) {
    d[j] = w[j * n + n - 1]!;
    w[j * n + n - 1] = 0;
  }
  w[(n - 1) * n + n - 1] = 1;
  e[0] = 0;
}

/** Implicit QL on the tridiagonal (d, e) (EISPACK tql2 via JAMA); rotates rows of w = Vᵀ if given. */
function tql2(d: Float64Array, e: Float64Array, n: number, w: Float64Array | null): void {
  for (let i = 1; i < n; i++) e[i - 1] = e[i]!;
  e[n - 1] = 0;
  let f = 0;
  let tst1 = 0;
  const eps = 2 ** -52;
  for (let l = 0; l < n; l++) {
    tst1 = Math.max(tst1, Math.abs(d[l]!) + Math.abs(e[l]!));
    let m = l;
    while (m < n - 1 && Math.abs(e[m]!) > eps * tst1) m++;
    if (m > l) {
      let iter = 0;
      do {
        // Converges in 1–2 sweeps per eigenvalue in practice; a bound turns a bug into an error.
        if (++iter > 100) throw new Error(`symmetricEigen: QL did not converge for eigenvalue ${l}`);
        let g = d[l]!;
        let p = (d[l + 1]! - g) / (2 * e[l]!);
        let r = Math.hypot(p, 1);
        if (p < 0) r = -r;
        d[l] = e[l]! / (p + r);
        d[l + 1] = e[l]! * (p + r);
        const dl1 = d[l + 1]!;
        let h = g - d[l]!;
        for (let i = l + 2; i < n; i++) d[i] = d[i]! - h;
        f += h;
        p = d[m]!;
        let c = 1;
        let c2 = c;
        let c3 = c;
        const el1 = e[l + 1]!;
        let s = 0;
        let s2 = 0;
        for (let i = m - 1; i >= l; i--) {
          c3 = c2;
          c2 = c;
          s2 = s;
          g = c * e[i]!;
          h = c * p;
          r = Math.hypot(p, e[i]!);
          e[i + 1] = s * r;
          s = e[i]! / r;
          c = p / r;
          p = c * d[i]! - s * g;
          d[i + 1] = h + s * (c * g + s * d[i]!);
          if (w !== null) {
            const a = i * n;
            const b = a + n;
            for (let k = 0; k < n; k++) {
              const wb = w[b + k]!;
              const wa = w[a + k]!;
              w[b + k] = s * wa + c * wb;
              w[a + k] = c * wa - s * wb;
            }
          }
        }
        p = (-s * s2 * c3 * el1 * e[l]!) / dl1;
        e[l] = s * p;
        d[l] = c * p;
      } while (Math.abs(e[l]!) > eps * tst1);
    }
    d[l] = d[l]! + f;
    e[l] = 0;
  }
}

/**
 * Eigendecomposition of a real symmetric n×n matrix (row-major; symmetrised as (A+Aᵀ)/2 first).
 * Repeated eigenvalues get an orthonormal basis of their eigenspace.
 */
export function symmetricEigen(a: Float64Array, n: number): SymmetricEigen {
  check(a, n, 'symmetricEigen');
  const w = symmetrised(a, n);
  const d = new Float64Array(n);
  const e = new Float64Array(n);
  tred2(w, n, d, e, true);
  tql2(d, e, n, w);
  const order = Array.from({ length: n }, (_, i) => i).sort((x, y) => d[x]! - d[y]!);
  const values = new Float64Array(n);
  const vectors = new Float64Array(n * n);
  for (let j = 0; j < n; j++) {
    const src = order[j]! * n;
    values[j] = d[order[j]!]!;
    for (let k = 0; k < n; k++) vectors[k * n + j] = w[src + k]!;
  }
  return { values, vectors };
}

/** The eigenvalues alone (ascending), at about a quarter of symmetricEigen's cost. */
export function symmetricEigenvalues(a: Float64Array, n: number): Float64Array {
  check(a, n, 'symmetricEigenvalues');
  const w = symmetrised(a, n);
  const d = new Float64Array(n);
  const e = new Float64Array(n);
  tred2(w, n, d, e, false);
  tql2(d, e, n, null);
  return d.sort();
}

/** Mean and unbiased (N−1) covariance of `rows` = x.length/d row-major feature vectors. */
export function covariance(x: Float64Array, d: number): { mean: Float64Array; cov: Float64Array } {
  if (!Number.isInteger(d) || d < 1 || x.length % d !== 0)
    throw new RangeError(`covariance: ${x.length} values are not rows of ${d}`);
  const rows = x.length / d;
  if (rows < 2) throw new RangeError(`covariance: needs at least 2 rows, got ${rows}`);
  const mean = new Float64Array(d);
  for (let r = 0; r < rows; r++) for (let j = 0; j < d; j++) mean[j] = mean[j]! + x[r * d + j]!;
  for (let j = 0; j < d; j++) mean[j] = mean[j]! / rows;
  // Centre first: Σxxᵀ/N − μμᵀ cancels catastrophically when |μ| ≫ σ.
  const cov = new Float64Array(d * d);
  const c = new Float64Array(d);
  for (let r = 0; r < rows; r++) {
    for (let j = 0; j < d; j++) c[j] = x[r * d + j]! - mean[j]!;
    for (let i = 0; i < d; i++) {
      const ci = c[i]!;
      const ri = i * d;
      for (let j = i; j < d; j++) cov[ri + j] = cov[ri + j]! + ci * c[j]!;
    }
  }
  for (let i = 0; i < d; i++)
    for (let j = i; j < d; j++) {
      const v = cov[i * d + j]! / (rows - 1);
      cov[i * d + j] = v;
      cov[j * d + i] = v;
    }
  return { mean, cov };
}

/** Row-major float64 product on the engine (BLAS): n³ in JavaScript would dominate at n = 2048. */
function matmul(
  a: Float64Array,
  ar: number,
  ac: number,
  b: Float64Array,
  bc: number,
  transposeA = false,
): Float64Array {
  return noGrad(() =>
    tidy(() => {
      const ta = tensor(a, { shape: [ar, ac] });
      const tb = tensor(b, { shape: [transposeA ? ar : ac, bc] });
      return (transposeA ? ta.t() : ta).matmul(tb).toTypedArray() as Float64Array;
    }),
  );
}

/**
 * Tr((S1·S2)^{1/2}) for symmetric positive semi-definite S1, S2 (n×n): Σ√λ over the eigenvalues λ
 * of S1^{1/2}·S2·S1^{1/2}, which is symmetric PSD and similar to S1·S2, so no non-symmetric sqrtm
 * (scipy.linalg.sqrtm in pytorch-fid) and no imaginary parts are involved. With S1 = VΛVᵀ and
 * B = V·Λ^{1/2}, S1^{1/2}·S2·S1^{1/2} = V·(Bᵀ·S2·B)·Vᵀ has the eigenvalues of Bᵀ·S2·B, which is
 * what is decomposed. Rounding makes tiny negative λ (singular covariances, N < D): clipped to 0.
 */
export function traceSqrtProduct(s1: Float64Array, s2: Float64Array, n: number): number {
  check(s2, n, 'traceSqrtProduct');
  const { values, vectors } = symmetricEigen(s1, n);
  const b = new Float64Array(n * n);
  for (let k = 0; k < n; k++)
    for (let j = 0; j < n; j++) b[k * n + j] = vectors[k * n + j]! * Math.sqrt(Math.max(values[j]!, 0));
  const s2b = matmul(s2, n, n, b, n);
  const m = matmul(b, n, n, s2b, n, true);
  const lambda = symmetricEigenvalues(m, n);
  let tr = 0;
  for (let i = 0; i < n; i++) tr += Math.sqrt(Math.max(lambda[i]!, 0));
  return tr;
}
