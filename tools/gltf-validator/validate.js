#!/usr/bin/env node
// Validate one glTF/GLB asset with the pinned Khronos glTF-Validator and print its JSON report.
//
// Usage: node validate.js [PATH] [--max-issues N]   (no PATH, or "-": the asset is read from stdin)
// Exit status: 0 when a report was printed (whatever it says), 2 when validation could not run.
// External resources (.bin, images by URI) are resolved next to PATH; from stdin they are not
// loaded, which is fine for the self-contained GLBs reskin writes.
"use strict";

const fs = require("fs");
const path = require("path");
const validator = require("gltf-validator");

function parseArgs(argv) {
  const args = { file: null, maxIssues: 100 };
  for (let i = 0; i < argv.length; i++) {
    if (argv[i] === "--max-issues") {
      args.maxIssues = parseInt(argv[++i], 10);
    } else if (args.file === null) {
      args.file = argv[i];
    } else {
      throw new Error(`unexpected argument: ${argv[i]}`);
    }
  }
  if (!Number.isInteger(args.maxIssues) || args.maxIssues < 0) {
    throw new Error("--max-issues needs a non-negative integer");
  }
  return args;
}

async function main() {
  const args = parseArgs(process.argv.slice(2));
  const fromStdin = args.file === null || args.file === "-";
  // fd 0 reads stdin whole, pipes included.
  const buf = fs.readFileSync(fromStdin ? 0 : args.file);
  const options = {
    uri: fromStdin ? "stdin" : path.basename(args.file),
    maxIssues: args.maxIssues,
    // No timestamp: the same asset gives the same report, so reports can be compared and cached.
    writeTimestamp: false,
  };
  if (!fromStdin) {
    const dir = path.dirname(path.resolve(args.file));
    options.externalResourceFunction = (uri) =>
      new Promise((resolve, reject) => {
        fs.readFile(path.resolve(dir, decodeURIComponent(uri)), (err, data) =>
          err ? reject(err.toString()) : resolve(new Uint8Array(data)));
      });
  }
  const report = await validator.validateBytes(new Uint8Array(buf), options);
  process.stdout.write(JSON.stringify(report) + "\n");
}

main().catch((err) => {
  process.stderr.write(`gltf-validator: ${err && err.stack ? err.stack : err}\n`);
  process.exit(2);
});
