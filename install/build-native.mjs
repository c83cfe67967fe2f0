#!/usr/bin/env node
// Builds the libtorch Node-API addon (native/*.cc -> build/creativeai_torch.node) from source.
// Runs as the package's install script and downloads nothing. libtorch is looked for, in order:
//   1. $LIBTORCH (a directory with include/ and lib/, e.g. an unpacked PyTorch wheel's torch/)
//   2. the `torch` package of python3
//   3. the system package (Debian/Ubuntu libtorch-dev), installed with apt when running as root.
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

function findLibtorch() {
  const tried = [];
  if (process.env.LIBTORCH) {
    const d = process.env.LIBTORCH;
    const found = probe(path.join(d, 'include'), path.join(d, 'lib'), `$LIBTORCH=${d}`);
    if (found) return { found, tried };
    tried.push(`$LIBTORCH=${d}: no include/ATen/ATen.h or lib/libtorch_cpu.so there`);
  } else {
    tried.push('$LIBTORCH: not set');
  }
  const py = run('python3', ['-c', 'import torch, os; print(os.path.dirname(torch.__file__))'], {
    timeout: 60_000,
  });
  if (py) {
    const found = probe(path.join(py, 'include'), path.join(py, 'lib'), `python3 torch at ${py}`);
    if (found) return { found, tried };
    tried.push(`python3 torch at ${py}: headers or libraries missing`);
  } else {
    tried.push('python3 -c "import torch": not importable');
  }
  const multiarch = run('gcc', ['-print-multiarch']) || `${os.arch() === 'arm64' ? 'aarch64' : 'x86_64'}-linux-gnu`;
  const sys = probe('/usr/include', `/usr/lib/${multiarch}`, 'system package libtorch-dev');
  if (sys) return { found: sys, tried };
  tried.push(`system: /usr/include/ATen/ATen.h with /usr/lib/${multiarch}/libtorch_cpu.so: not installed`);
  return { found: null, tried };
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
  let { found, tried } = findLibtorch();
  if (!found && !checkOnly) {
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

  log(`libtorch: ${found.source} (lib ${libDir})`);
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
    JSON.stringify({ libtorch: found.source, libDir, cuda: hasCuda, cudaApi: withCudaApi, abi }, null, 2) + '\n',
  );
  log(`built ${path.relative(root, output)} in ${((Date.now() - started) / 1000).toFixed(1)} s`);
}

main().catch((e) => fail(e.stack || String(e)));
