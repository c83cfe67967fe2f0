// The layers of src/ are a checked rule: ESLint refuses an import that climbs to a folder not on a
// layer's list (eslint-layers.js), the sources as they are break none, and the README's table says
// what the rule says.
import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import { test } from 'node:test';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { ESLint } from 'eslint';

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..', '..', '..');

interface Layer {
  dir: string;
  may: string[];
}
const { LAYERS } = (await import(pathToFileURL(path.join(root, 'eslint-layers.js')).href)) as { LAYERS: Layer[] };

function* tsFiles(dir: string): Generator<string> {
  for (const e of fs.readdirSync(dir, { withFileTypes: true })) {
    const p = path.join(dir, e.name);
    if (e.isDirectory()) yield* tsFiles(p);
    else if (e.name.endsWith('.ts')) yield p;
  }
}

test('every folder of src/ is a layer, and every layer only names layers below it', () => {
  const dirs = fs
    .readdirSync(path.join(root, 'src'), { withFileTypes: true })
    .filter((e) => e.isDirectory())
    .map((e) => e.name)
    .sort();
  assert.deepEqual(LAYERS.map((l) => l.dir).sort(), dirs);
  LAYERS.forEach((l, i) => {
    const below = new Set(LAYERS.slice(0, i).map((x) => x.dir));
    for (const d of l.may) assert.ok(below.has(d), `${l.dir} may import ${d}, which is not below it`);
  });
});

test("ESLint refuses an import of a folder not on the layer's list, and accepts one on it", async () => {
  const eslint = new ESLint({ cwd: root });
  const lint = async (file: string, spec: string): Promise<string[]> => {
    const [r] = await eslint.lintText(`import { x } from '${spec}';\nexport const y = x;\n`, {
      filePath: path.join(root, file),
    });
    return r!.messages.filter((m) => m.ruleId === 'no-restricted-imports').map((m) => m.message);
  };
  const all = LAYERS.map((l) => l.dir);
  for (const { dir, may } of LAYERS) {
    for (const other of all.filter((d) => d !== dir)) {
      // One level deep and two (a file in a subfolder), as the sources write them.
      for (const [file, spec] of [
        [`src/${dir}/probe.ts`, `../${other}/index.js`],
        [`src/${dir}/sub/probe.ts`, `../../${other}/thing.js`],
      ] as const) {
        const messages = await lint(file, spec);
        if (may.includes(other)) assert.deepEqual(messages, [], `${file} importing ${spec} is allowed`);
        else assert.match(messages.join('\n'), new RegExp(`src/${dir} may import only`), `${file} importing ${spec}`);
      }
    }
    assert.deepEqual(await lint(`src/${dir}/probe.ts`, './sibling.js'), [], 'a folder imports itself');
  }
  assert.match(
    (await lint('web/src/probe.ts', '../../src/server/schemas.js')).join('\n'),
    /the web page talks to the server over HTTP only/,
  );
  assert.match(
    (await lint('web/src/probe.ts', '../../dist/src/server/schemas.js')).join('\n'),
    /imports only types from the server/,
  );
  const [typeOnly] = await eslint.lintText("export type { GenerateReply } from '../../dist/src/server/schemas.js';\n", {
    filePath: path.join(root, 'web/src/probe.ts'),
  });
  assert.deepEqual(
    typeOnly!.messages.filter((m) => m.ruleId === 'no-restricted-imports'),
    [],
  );
});

test('the sources as they are import only what their layer allows (read without ESLint)', () => {
  const may = new Map(LAYERS.map((l) => [l.dir, new Set([l.dir, ...l.may])]));
  const broken: string[] = [];
  for (const file of tsFiles(path.join(root, 'src'))) {
    const from = path.relative(path.join(root, 'src'), file).split(path.sep)[0]!;
    const text = fs.readFileSync(file, 'utf8');
    for (const m of text.matchAll(/(?:^|\n)\s*(?:import|export)\b[^'";]*?from\s+'(\.[^']+)'/g)) {
      const target = path.relative(path.join(root, 'src'), path.resolve(path.dirname(file), m[1]!));
      const to = target.split(path.sep)[0]!;
      if (!may.get(from)!.has(to)) broken.push(`${path.relative(root, file)} imports ${m[1]} (${to})`);
    }
  }
  assert.deepEqual(broken, []);
});

test("the README's layer table says what eslint-layers.js says", () => {
  const readme = fs.readFileSync(path.join(root, 'README.md'), 'utf8');
  const rows = [...readme.matchAll(/^\| `src\/([a-z]+)`\s*\|[^|]*\|\s*([^|]*?)\s*\|$/gm)].map((m) => ({
    dir: m[1]!,
    may: m[2] === '–' ? [] : m[2]!.split(',').map((s) => s.trim()),
  }));
  assert.deepEqual(
    rows.map((r) => ({ dir: r.dir, may: [...r.may].sort() })),
    LAYERS.map((l) => ({ dir: l.dir, may: [...l.may].sort() })),
  );
});
