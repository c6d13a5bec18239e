#!/usr/bin/env node
// Validate many self-contained GLB/glTF files in one process (one node start for a batch).
//
// Usage: node validate_many.js [--max-issues N] PATH...
// Prints one JSON line per PATH, in order: the validator's report, or {"error": "..."} when it
// could not run on that file. Exit status 0 when every line was printed, 2 otherwise.
"use strict";

const fs = require("fs");
const path = require("path");
const validator = require("gltf-validator");

async function main() {
  const argv = process.argv.slice(2);
  let maxIssues = 100;
  const files = [];
  for (let i = 0; i < argv.length; i++) {
    if (argv[i] === "--max-issues") maxIssues = parseInt(argv[++i], 10);
    else files.push(argv[i]);
  }
  for (const file of files) {
    let line;
    try {
      const buf = fs.readFileSync(file);
      const report = await validator.validateBytes(new Uint8Array(buf), {
        uri: path.basename(file), maxIssues, writeTimestamp: false,
      });
      line = JSON.stringify(report);
    } catch (err) {
      line = JSON.stringify({ error: String(err && err.message ? err.message : err) });
    }
    process.stdout.write(line + "\n");
  }
}

main().catch((err) => {
  process.stderr.write(`gltf-validator: ${err && err.stack ? err.stack : err}\n`);
  process.exit(2);
});
