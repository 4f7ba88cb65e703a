// The committed kernel modules (wasm/build) are what `npm run build:wasm` makes from
// wasm/*.ts with the pinned AssemblyScript: a source change without a rebuild, or a
// rebuild that is not reproducible, fails here. Also: the modules stay fit to run on
// tfjs-backend-wasm's heap (they import their memory, and have no data of their own).
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { test } from 'node:test';
import { fileURLToPath } from 'node:url';
import { setFlagsFromString } from 'node:v8';
import asc from 'assemblyscript/asc';

const ROOT = fileURLToPath(new URL('..', import.meta.url));
const config = JSON.parse(readFileSync(new URL('../wasm/asconfig.json', import.meta.url), 'utf8'));

/** The ids of a module's sections, in order (11 is data). */
function sectionIds(bytes) {
  const ids = [];
  for (let at = 8; at < bytes.length;) {
    ids.push(bytes[at++]);
    let size = 0;
    for (let shift = 0; ; shift += 7) {
      const byte = bytes[at++];
      size |= (byte & 0x7f) << shift;
      if (byte < 0x80) break;
    }
    at += size;
  }
  return ids;
}

for (const [target, { outFile }] of Object.entries(config.targets)) {
  test(`wasm/${outFile} is the build of wasm/*.ts (target ${target})`, async () => {
    const written = new Map();
    const { error, stderr } = await asc.main(['--config', 'wasm/asconfig.json', '--target', target], {
      writeFile: (name, contents) => written.set(name, contents),
      stderr: { write: () => true }, // errors are in `error`
      baseDir: ROOT,
    });
    assert.equal(error, null, String(stderr));
    const built = [...written].find(([name]) => name.endsWith(outFile.split('/').pop()))?.[1];
    assert.ok(built, `asc wrote ${[...written.keys()]}`);
    const committed = readFileSync(new URL(`../wasm/${outFile}`, import.meta.url));
    assert.ok(
      Buffer.from(built).equals(committed),
      `wasm/${outFile} differs from its source's build: run npm run build:wasm and commit it`,
    );

    // Node 20 validates relaxed SIMD only with this flag (src/backend/wasm-kernels/own-module.ts sets it too).
    if (!WebAssembly.validate(committed)) setFlagsFromString('--experimental-wasm-relaxed-simd');
    const module = new WebAssembly.Module(committed);
    assert.deepEqual(WebAssembly.Module.imports(module), [{ module: 'env', name: 'memory', kind: 'memory' }]);
    assert.ok(!sectionIds(committed).includes(11), 'a data section would be written over the tfjs heap');
  });
}
