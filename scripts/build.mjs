#!/usr/bin/env node
// Compiles src/ to dist/ like `tsc -p tsconfig.build.json`, with one addition: @nestjs/swagger's
// compiler plugin, which writes the OpenAPI schema of every DTO from its TypeScript types and
// class-validator decorators (so GET /docs/openapi.json describes request bodies and queries
// without an @ApiProperty on each field). The plugin needs a whole program, so it cannot run
// under ts-jest (isolatedModules): test/openapi.e2e-spec.ts checks the schemas on a built api.
import { execFileSync } from 'node:child_process';
import fs from 'node:fs';
import { createRequire } from 'node:module';
import path from 'node:path';
import ts from 'typescript';

const require = createRequire(import.meta.url);
const swaggerPlugin = require('@nestjs/swagger/plugin');
export const SWAGGER_PLUGIN_OPTIONS = { classValidatorShim: true, introspectComments: true };

const root = path.resolve(path.dirname(new URL(import.meta.url).pathname), '..');
const configPath = path.join(root, 'tsconfig.build.json');
const config = ts.getParsedCommandLineOfConfigFile(configPath, {}, { ...ts.sys, onUnRecoverableConfigFileDiagnostic: (d) => report([d]) });
if (!config) process.exit(1);
// `--outDir DIR` compiles elsewhere (tests of child processes use such builds: test/support/api-process.ts).
const outDirArg = process.argv.indexOf('--outDir');
const options = outDirArg > 0 ? { ...config.options, outDir: path.resolve(process.argv[outDirArg + 1]) } : config.options;
const program = ts.createProgram({ rootNames: config.fileNames, options, projectReferences: config.projectReferences });
const emitted = program.emit(undefined, undefined, undefined, false, { before: [swaggerPlugin.before(SWAGGER_PLUGIN_OPTIONS, program)] });
const diagnostics = ts.getPreEmitDiagnostics(program).concat(emitted.diagnostics);
if (diagnostics.length > 0) {
  report(diagnostics);
  process.exit(1);
}
writeBuildInfo(options.outDir);

/**
 * `<outDir>/build-info.json`: `{commit, changes, builtAt}`, the git commit the build was compiled
 * from (null outside a git checkout) and whether tracked files had uncommitted changes, so a
 * benchmark reports the code it measured (bench/lib/processes.mjs buildCommit).
 */
function writeBuildInfo(outDir) {
  const git = (args) => execFileSync('git', ['-C', root, ...args], { encoding: 'utf8', stdio: ['ignore', 'pipe', 'ignore'] }).trim();
  let commit = null;
  let changes = false;
  try {
    commit = git(['rev-parse', '--short', 'HEAD']);
    changes = git(['status', '--porcelain', '--untracked-files=no']) !== '';
  } catch {
    /* not a git checkout (say a container build): commit stays null */
  }
  fs.writeFileSync(path.join(outDir, 'build-info.json'), `${JSON.stringify({ commit, changes, builtAt: new Date().toISOString() })}\n`);
}

function report(list) {
  const host = { getCanonicalFileName: (f) => f, getCurrentDirectory: () => root, getNewLine: () => '\n' };
  process.stderr.write(ts.formatDiagnosticsWithColorAndContext(list, host));
}
