// Validates an AsyncAPI document (stdin) with @asyncapi/parser, the reference parser.
// Prints {"errors": [...], "warnings": n, "channels": [...], "messages": [...]} and exits 1 when
// the document does not parse or has any error-level diagnostic.
// NODE_PATH must reach node_modules/@asyncapi/parser (tools/install-deps.sh installs it in
// build/asyncapi-parser).
const { Parser } = require('@asyncapi/parser');

async function main() {
  let text = '';
  for await (const chunk of process.stdin) text += chunk;
  const parser = new Parser();
  const { document, diagnostics } = await parser.parse(text);
  const errors = diagnostics.filter((d) => d.severity === 0)
    .map((d) => ({ code: d.code, message: d.message, path: d.path }));
  const out = {
    errors,
    warnings: diagnostics.filter((d) => d.severity === 1)
      .map((d) => ({ code: d.code, message: d.message, path: d.path })),
    version: document ? document.version() : null,
    channels: document ? document.channels().all().map((c) => c.id()) : [],
    messages: document ? document.components().messages().all().map((m) => m.id()) : [],
  };
  process.stdout.write(JSON.stringify(out));
  process.exit(document && errors.length === 0 ? 0 : 1);
}
main().catch((e) => { process.stderr.write(String(e && e.stack || e)); process.exit(2); });
