'use strict';
// Worker entry for runs from the TypeScript sources (ts-jest, no build), where there is no
// compiled token-count.worker.js next to token-counter.service.ts: compiles this directory's .ts
// modules with the TypeScript compiler as they are required (types stripped, CommonJS), then
// exports the worker's handler. A build does not copy this file; dist/ runs the compiled worker.
const fs = require('node:fs');
const ts = require('typescript');

if (!require.extensions['.ts']) {
  require.extensions['.ts'] = (module, filename) => {
    const { outputText } = ts.transpileModule(fs.readFileSync(filename, 'utf8'), {
      fileName: filename,
      compilerOptions: {
        module: ts.ModuleKind.CommonJS,
        target: ts.ScriptTarget.ES2022,
        esModuleInterop: true,
        inlineSourceMap: true,
      },
    });
    module._compile(outputText, filename);
  };
}

module.exports = require('./token-count.worker.ts');
