#!/usr/bin/env node
// Builds the libtorch Node-API addon (native/*.cc -> build/creativeai_torch.node) from source.
// Runs as the package's install script. libtorch is looked for, in order:
//   1. $LIBTORCH (a directory with include/ and lib/, e.g. an unpacked PyTorch wheel's torch/)
//   2. the `torch` package of $PYTHON (default python3)
//   3. the `torch` package of the project's own Python environment, .venv/
//   4. a new .venv/ with PyTorch installed into it by pip (the libtorch inside the wheel is 2.x:
//      on a 2-core CPU it trains about 3x faster than Debian's 1.13 — docs/training.md)
//   5. the system package (Debian/Ubuntu libtorch-dev), installed with apt when running as root.
// CREATIVEAI_LIBTORCH=system skips 3 and 4 (Debian's libtorch); CREATIVEAI_LIBTORCH=pip skips 5.
// Usage: node install/build-native.mjs [--force] [--check] [--jobs N]
import { execFileSync, spawn } from 'node:child_process';
import { createHash } from 'node:crypto';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
const srcDir = path.join(root, 'native');
const buildDir = path.join(root, 'build');
const objDir = path.join(buildDir, 'obj');
const output = path.join(buildDir, 'creativeai_torch.node');
const args = process.argv.slice(2);
const force = args.includes('--force');
const checkOnly = args.includes('--check');
const jobsArg = args.indexOf('--jobs');
const jobs = jobsArg >= 0 ? Number(args[jobsArg + 1]) : Math.max(1, os.cpus().length);

const log = (msg) => console.log(`[creativeai:native] ${msg}`);

function fail(msg) {
  console.error(`\n[creativeai:native] ERROR: ${msg}\n`);
  process.exit(1);
}

function run(cmd, argv, opts = {}) {
  try {
    return execFileSync(cmd, argv, { encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'], ...opts }).trim();
  } catch {
    return null;
  }
}

// A libtorch layout: headers (include/ATen/ATen.h) and libraries (libtorch_cpu.so).
function probe(includeDir, libDir, source) {
  const hasHeaders =
    fs.existsSync(path.join(includeDir, 'ATen', 'ATen.h')) &&
    fs.existsSync(path.join(includeDir, 'torch', 'csrc', 'api', 'include', 'torch', 'version.h'));
  const hasLibs = fs.existsSync(path.join(libDir, 'libtorch_cpu.so'));
  return hasHeaders && hasLibs ? { includeDir, libDir, source } : null;
}

const venvDir = path.join(root, '.venv');
const venvPython = path.join(venvDir, 'bin', 'python3');
const choice = process.env.CREATIVEAI_LIBTORCH ?? 'auto';
if (!['auto', 'system', 'pip'].includes(choice))
  fail(`CREATIVEAI_LIBTORCH must be auto, system or pip; got '${choice}'`);

/** The torch/ folder of a Python's `torch` package, or null. */
function pythonTorch(python) {
  return run(python, ['-c', 'import torch, os; print(os.path.dirname(torch.__file__))'], { timeout: 120_000 });
}

/** The first libtorch of the list above; `withSystem` false stops before the system package. */
function findLibtorch(withSystem = true) {
  const tried = [];
  if (process.env.LIBTORCH) {
    const d = process.env.LIBTORCH;
    const found = probe(path.join(d, 'include'), path.join(d, 'lib'), `$LIBTORCH=${d}`);
    if (found) return { found, tried };
    tried.push(`$LIBTORCH=${d}: no include/ATen/ATen.h or lib/libtorch_cpu.so there`);
  } else {
    tried.push('$LIBTORCH: not set');
  }
  const python = process.env.PYTHON || 'python3';
  const pythons = [[python, `${python} torch`]];
  if (choice !== 'system') pythons.push([venvPython, 'the project environment .venv/']);
  for (const [exe, label] of pythons) {
    if (exe === venvPython && !fs.existsSync(venvPython)) {
      tried.push(`${label}: not created yet`);
      continue;
    }
    const py = pythonTorch(exe);
    if (py) {
      const found = probe(path.join(py, 'include'), path.join(py, 'lib'), `${label} (torch at ${py})`);
      if (found) return { found, tried };
      tried.push(`${label} torch at ${py}: headers or libraries missing`);
    } else {
      tried.push(`${label}: "import torch" fails`);
    }
  }
  if (choice === 'pip' || !withSystem) return { found: null, tried };
  const multiarch = run('gcc', ['-print-multiarch']) || `${os.arch() === 'arm64' ? 'aarch64' : 'x86_64'}-linux-gnu`;
  const sys = probe('/usr/include', `/usr/lib/${multiarch}`, 'system package libtorch-dev');
  if (sys) return { found: sys, tried };
  tried.push(`system: /usr/include/ATen/ATen.h with /usr/lib/${multiarch}/libtorch_cpu.so: not installed`);
  return { found: null, tried };
}

/**
 * Installs PyTorch (its wheel carries a libtorch 2.x) into the project's own .venv/, using pip's
 * own configuration (index, mirrors, find-links): true when it worked. Nothing outside the project
 * changes, and the addon only loads the libraries; Python is not used at run time.
 */
function pipInstallTorch() {
  const python = process.env.PYTHON || 'python3';
  if (!run(python, ['--version'])) {
    log(`no ${python}: cannot make a Python environment for PyTorch's libtorch`);
    return false;
  }
  const step = (what, cmd, argv, timeout) => {
    log(what);
    try {
      execFileSync(cmd, argv, { stdio: ['ignore', 'inherit', 'inherit'], timeout });
      return true;
    } catch (e) {
      log(`${what}: failed (${e.signal ?? `exit ${e.status}`})`);
      return false;
    }
  };
  if (!fs.existsSync(venvPython)) {
    let made = step(
      `creating ${path.relative(process.cwd(), venvDir) || venvDir} (python -m venv)`,
      python,
      ['-m', 'venv', venvDir],
      300_000,
    );
    const isRoot = typeof process.getuid === 'function' && process.getuid() === 0;
    if (!made && isRoot && isDebianLike() && run('which', ['apt-get'])) {
      // Debian splits venv (with its pip) out of python3.
      const env = { ...process.env, DEBIAN_FRONTEND: 'noninteractive' };
      try {
        execFileSync('apt-get', ['install', '-y', '-qq', 'python3-venv'], { stdio: 'inherit', env });
      } catch {
        /* reported below */
      }
      fs.rmSync(venvDir, { recursive: true, force: true });
      made = step('creating .venv again', python, ['-m', 'venv', venvDir], 300_000);
    }
    if (!made) return false;
  }
  const spec = process.env.CREATIVEAI_TORCH_SPEC || 'torch';
  return step(
    `installing ${spec} into .venv with pip (about 200 MB; set CREATIVEAI_LIBTORCH=system to use Debian's libtorch instead)`,
    venvPython,
    ['-m', 'pip', 'install', '--no-input', '--progress-bar', 'off', spec],
    30 * 60_000,
  );
}

function isDebianLike() {
  try {
    const osr = fs.readFileSync('/etc/os-release', 'utf8');
    return /ID(_LIKE)?=.*(debian|ubuntu)/.test(osr);
  } catch {
    return false;
  }
}

function aptInstall() {
  log('libtorch not found: installing Debian packages libtorch-dev libopenblas0-pthread with apt-get');
  log('(OpenBLAS with threads is installed because the reference BLAS is about 6x slower)');
  const env = { ...process.env, DEBIAN_FRONTEND: 'noninteractive' };
  execFileSync('apt-get', ['update', '-qq'], { stdio: 'inherit', env });
  execFileSync('apt-get', ['install', '-y', '-qq', 'libtorch-dev', 'libopenblas0-pthread'], { stdio: 'inherit', env });
}

/** TORCH_VERSION from the headers, e.g. "2.13.0". */
function torchVersion(includeDir) {
  // 2.9+ moved the defines to torch/headeronly/version.h.
  for (const rel of ['torch/headeronly/version.h', 'torch/csrc/api/include/torch/version.h']) {
    const f = path.join(includeDir, rel);
    if (!fs.existsSync(f)) continue;
    const m = /#define TORCH_VERSION\s*\\?\s*"([^"]+)"/.exec(fs.readFileSync(f, 'utf8'));
    if (m) return m[1];
  }
  return null;
}

// PyTorch wheels and distributions differ in the std::string ABI; read it off libc10.
function cxx11Abi(libDir) {
  const buf = fs.readFileSync(path.join(libDir, 'libc10.so'));
  return buf.includes('St7__cxx1112basic_string') || buf.includes('B5cxx11') ? 1 : 0;
}

function findCudaIncludes(libtorch) {
  const candidates = [process.env.CUDA_HOME, process.env.CUDA_PATH, '/usr/local/cuda'].filter(Boolean);
  const dirs = candidates.map((d) => path.join(d, 'include'));
  // PyTorch's pip dependencies ship the CUDA runtime headers under site-packages/nvidia/.
  const nvidia = path.join(libtorch.libDir, '..', '..', 'nvidia');
  if (fs.existsSync(nvidia)) {
    for (const sub of fs.readdirSync(nvidia)) dirs.push(path.join(nvidia, sub, 'include'));
  }
  const found = dirs.filter((d) => fs.existsSync(path.join(d, 'cuda_runtime_api.h')));
  return found;
}

function nodeApiIncludes() {
  const dirs = [];
  for (const pkg of ['node-addon-api', 'node-api-headers']) {
    const base = [path.join(root, 'node_modules', pkg), path.join(root, '.gpu', 'node_modules', pkg)].find((d) =>
      fs.existsSync(d),
    );
    if (!base) fail(`npm package ${pkg} is missing: run \`npm install\` first.`);
    dirs.push(pkg === 'node-api-headers' ? path.join(base, 'include') : base);
  }
  return dirs;
}

function compile(cxx, flags, src, obj) {
  return new Promise((resolve, reject) => {
    const p = spawn(cxx, [...flags, '-c', src, '-o', obj], { stdio: ['ignore', 'inherit', 'inherit'] });
    p.on('error', reject);
    p.on('exit', (code) =>
      code === 0 ? resolve() : reject(new Error(`${path.basename(src)}: compiler exit ${code}`)),
    );
  });
}

async function main() {
  // PyTorch's libtorch (2.x) comes before an installed Debian libtorch-dev (1.13): pip is tried
  // first, and the system package only when it fails.
  let { found, tried } = findLibtorch(choice === 'system' || checkOnly);
  let pipFailed = false;
  if (!found && !checkOnly && choice !== 'system') {
    if (pipInstallTorch()) ({ found, tried } = findLibtorch(false));
    else pipFailed = true;
  }
  if (!found && choice !== 'pip') ({ found, tried } = findLibtorch());
  if (pipFailed) tried.push('pip install torch into .venv: failed (see above)');
  if (!found && !checkOnly && choice !== 'pip') {
    const isRoot = typeof process.getuid === 'function' && process.getuid() === 0;
    if (isRoot && isDebianLike() && run('which', ['apt-get'])) {
      aptInstall();
      ({ found } = findLibtorch());
    }
  }
  if (!found) {
    fail(
      `libtorch was not found. Tried:\n  - ${tried.join('\n  - ')}\n\nPossible solutions:\n` +
        `  - Debian/Ubuntu: sudo apt-get install libtorch-dev libopenblas0-pthread, then npm install again\n` +
        `  - a PyTorch install: pip install torch (python3 must import it), then npm install again\n` +
        `  - an unpacked libtorch or PyTorch wheel: LIBTORCH=/path/to/torch npm install`,
    );
  }
  const cxx = process.env.CXX || 'g++';
  if (!run(cxx, ['--version'])) fail(`C++ compiler '${cxx}' not found: install g++ (apt-get install g++) or set CXX.`);

  const libDir = fs.realpathSync(found.libDir);
  const hasCuda = fs.existsSync(path.join(libDir, 'libtorch_cuda.so'));
  const cudaIncludes = hasCuda ? findCudaIncludes(found) : [];
  const withCudaApi = hasCuda && cudaIncludes.length > 0;
  const abi = cxx11Abi(libDir);
  const includes = [
    ...nodeApiIncludes(),
    found.includeDir,
    path.join(found.includeDir, 'torch', 'csrc', 'api', 'include'),
    ...cudaIncludes,
  ];
  const defines = ['NAPI_VERSION=8', 'NAPI_CPP_EXCEPTIONS', `_GLIBCXX_USE_CXX11_ABI=${abi}`];
  if (withCudaApi) defines.push('CAI_WITH_CUDA');
  const cflags = [
    '-std=c++17',
    '-O2',
    '-fPIC',
    '-fvisibility=hidden',
    '-Wall',
    '-Wno-unused-parameter',
    '-Wno-deprecated-declarations',
    ...defines.map((d) => `-D${d}`),
    // /usr/include is already a system directory; naming it again breaks #include_next.
    ...includes.filter((d) => path.resolve(d) !== '/usr/include').map((d) => `-isystem${d}`),
  ];
  const libs = ['-ltorch', '-ltorch_cpu', '-lc10'];
  if (hasCuda) libs.unshift('-Wl,--no-as-needed', '-ltorch_cuda', '-lc10_cuda', '-Wl,--as-needed');
  const ldflags = ['-shared', `-L${libDir}`, `-Wl,-rpath,${libDir}`, ...libs];

  const version = torchVersion(found.includeDir);
  log(`libtorch ${version ?? '(version unknown)'}: ${found.source} (lib ${libDir})`);
  if (version && Number(version.split('.')[0]) < 2)
    log(
      `note: libtorch ${version} trains about 3x slower on the CPU than libtorch 2.x (no fast bfloat16, no fused Adam). ` +
        `For 2.x: rm -rf build && CREATIVEAI_LIBTORCH=pip npm install (or LIBTORCH=/path/to/libtorch npm run build:native).`,
    );
  log(`CUDA: ${hasCuda ? `libtorch_cuda linked${withCudaApi ? '' : ' (no CUDA headers: memory stats off)'}` : 'no'}`);
  if (checkOnly) return;

  fs.mkdirSync(objDir, { recursive: true });
  const sources = fs.readdirSync(srcDir).filter((f) => f.endsWith('.cc'));
  const headers = fs.readdirSync(srcDir).filter((f) => f.endsWith('.h'));
  const newestHeader = Math.max(...headers.map((h) => fs.statSync(path.join(srcDir, h)).mtimeMs));
  // Objects built with other flags (another libtorch) are stale.
  const stamp = createHash('sha256')
    .update(JSON.stringify([cxx, cflags, ldflags]))
    .digest('hex');
  const stampFile = path.join(objDir, 'flags.sha256');
  const sameFlags = fs.existsSync(stampFile) && fs.readFileSync(stampFile, 'utf8') === stamp;

  const todo = sources.filter((s) => {
    const obj = path.join(objDir, s.replace(/\.cc$/, '.o'));
    if (force || !sameFlags || !fs.existsSync(obj)) return true;
    const t = fs.statSync(obj).mtimeMs;
    return t < fs.statSync(path.join(srcDir, s)).mtimeMs || t < newestHeader;
  });
  const started = Date.now();
  if (todo.length > 0) log(`compiling ${todo.length} file(s) with ${jobs} job(s): ${todo.join(' ')}`);
  const queue = [...todo];
  const workers = Array.from({ length: Math.min(jobs, queue.length) }, async () => {
    while (queue.length > 0) {
      const s = queue.shift();
      await compile(cxx, cflags, path.join(srcDir, s), path.join(objDir, s.replace(/\.cc$/, '.o')));
    }
  });
  try {
    await Promise.all(workers);
  } catch (e) {
    fail(`compilation failed: ${e.message}`);
  }
  fs.writeFileSync(stampFile, stamp);
  const objects = sources.map((s) => path.join(objDir, s.replace(/\.cc$/, '.o')));
  const needLink =
    todo.length > 0 ||
    !fs.existsSync(output) ||
    objects.some((o) => fs.statSync(o).mtimeMs > fs.statSync(output).mtimeMs);
  if (needLink) {
    try {
      execFileSync(cxx, ['-o', `${output}.tmp`, ...objects, ...ldflags], { stdio: 'inherit' });
    } catch {
      fail('linking failed (see the linker output above)');
    }
    fs.renameSync(`${output}.tmp`, output);
  }
  fs.writeFileSync(
    path.join(buildDir, 'config.json'),
    JSON.stringify({ libtorch: found.source, version, libDir, cuda: hasCuda, cudaApi: withCudaApi, abi }, null, 2) +
      '\n',
  );
  log(`built ${path.relative(root, output)} in ${((Date.now() - started) / 1000).toFixed(1)} s`);
}

main().catch((e) => fail(e.stack || String(e)));
