#!/usr/bin/env node
// Thin launcher: the compiled CLI lives in dist/ (npm run build). From a checkout or the npm package it runs
// the developer CLI (dist/sandbox/cli.js: every command plus `sandbox` and `demo`); where the tools are not
// built it runs the product CLI, as the controller image does.
import { existsSync } from 'node:fs';

const tools = new URL('../dist/sandbox/cli.js', import.meta.url);
const entry = existsSync(tools) ? tools.href : '../dist/cli/main.js';
import(entry).catch((err) => {
  if (err && err.code === 'ERR_MODULE_NOT_FOUND' && String(err.message).includes('dist/cli/main.js')) {
    console.error('routeshift is not built yet: run `npm run build` first');
    process.exit(1);
  }
  throw err;
});
