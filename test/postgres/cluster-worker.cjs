// A test process that starts a cluster with test/support/postgres.ts and then ends without
// stopping it, the way a crashed or killed test worker would:
//   node cluster-worker.cjs <bindir> wait|exit
// Prints one JSON line {"postmaster":<pid>,"directory":"<dir>"} once the cluster accepts
// connections; then `wait` waits forever (the test SIGKILLs it) and `exit` calls process.exit(0)
// once the test writes a line to its stdin (after it has seen the server's processes: exiting
// right away raced the test's look at them).
// The support module is TypeScript: it is transpiled here with the repository's own compiler.
const fs = require("node:fs");
const ts = require("typescript");

require.extensions[".ts"] = (module, filename) => {
  const { outputText } = ts.transpileModule(fs.readFileSync(filename, "utf8"), {
    fileName: filename,
    compilerOptions: { module: ts.ModuleKind.CommonJS, target: ts.ScriptTarget.ES2022, esModuleInterop: true },
  });
  module._compile(outputText, filename);
};

const { startPostgres } = require("../support/postgres");
const [bindir, mode] = process.argv.slice(2);

startPostgres({ bindir }).then(
  (cluster) => {
    process.stdout.write(`${JSON.stringify({ postmaster: cluster.postmasterPid(), directory: cluster.directory })}\n`);
    if (mode === "exit") process.stdin.once("data", () => process.exit(0));
    else setInterval(() => undefined, 60_000);
  },
  (error) => {
    process.stderr.write(String(error && error.stack));
    process.exit(1);
  },
);
