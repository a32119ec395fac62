// index.d.ts type-checks against test/types.ts (a program using the whole API).
'use strict';

const { test } = require('node:test');
const assert = require('node:assert/strict');
const { spawnSync } = require('node:child_process');
const fs = require('node:fs');
const os = require('node:os');
const path = require('node:path');

const PKG = path.resolve(__dirname, '..');

function tsc() {
  try {
    return require.resolve('typescript/bin/tsc', { paths: [PKG] });
  } catch {
    return null;
  }
}

const TSC = tsc();
const skip = !TSC && 'typescript is not installed (npm install in bindings/node)';

function check(project) {
  return spawnSync(process.execPath, [TSC, '--noEmit', '-p', project], { cwd: PKG, encoding: 'utf8' });
}

test('index.d.ts and test/types.ts compile with tsc --noEmit --strict', { skip }, () => {
  const r = check(path.join(__dirname, 'tsconfig.json'));
  assert.equal(r.status, 0, r.stdout + r.stderr);
});

test('the types reject misuse (tsc reports errors)', { skip }, () => {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'wxa-types-'));
  try {
    fs.writeFileSync(
      path.join(dir, 'bad.ts'),
      `import { Client, createJwt } from ${JSON.stringify(PKG)};
       const c = new Client({ client_id: 1 });
       const n: number = c.initiateLogin();
       c.refresh().then((t) => { const x: number = t.access_token; });
       createJwt({ secret: 'x' });
       c.on('getUserCodeSuccess', (e) => { const y: number = e.userCode; });
       c.serviceAppToken({ targetOrgId: 'o' });
       c.whoami().then((p) => { const z: number = p.displayName; });
       c.createGuest({ displayName: 'no subject' });
       c.startLoopbackLogin({ port: '8080' });
      `,
    );
    fs.writeFileSync(
      path.join(dir, 'tsconfig.json'),
      JSON.stringify({
        compilerOptions: {
          strict: true,
          noEmit: true,
          target: 'ES2022',
          lib: ['ES2022', 'ESNext.Disposable', 'DOM'],
          module: 'commonjs',
          moduleResolution: 'node',
          types: ['node'],
          typeRoots: [path.join(PKG, 'node_modules', '@types')],
        },
        files: ['bad.ts'],
      }),
    );
    const r = check(path.join(dir, 'tsconfig.json'));
    assert.notEqual(r.status, 0);
    const errors = (r.stdout.match(/error TS\d+/g) || []).length;
    assert.ok(errors >= 9, `expected at least 9 type errors, got ${errors}:\n${r.stdout}`);
  } finally {
    fs.rmSync(dir, { recursive: true, force: true });
  }
});
