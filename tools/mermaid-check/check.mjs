// Parses every ```mermaid block of the Markdown files given with the mermaid library (the one GitHub runs),
// under a jsdom window. Prints one JSON line per file: {"file", "diagrams": [{"type"} | {"error"}]}.
// Exit status 0 when every diagram parsed, 1 otherwise, 2 on a usage error.
import { readFileSync } from "node:fs";
import { JSDOM } from "jsdom";

const dom = new JSDOM("<!DOCTYPE html><html><body></body></html>", { pretendToBeVisual: true });
globalThis.window = dom.window;
globalThis.document = dom.window.document;
for (const name of ["Element", "HTMLElement", "SVGElement", "Node", "DOMParser", "navigator"]) {
  if (!(name in globalThis)) globalThis[name] = dom.window[name];
}
const createDOMPurify = (await import("dompurify")).default;
globalThis.DOMPurify = createDOMPurify(dom.window);

const mermaid = (await import("mermaid")).default;
mermaid.initialize({ startOnLoad: false, securityLevel: "strict" });

const files = process.argv.slice(2);
if (!files.length) {
  console.error("usage: node check.mjs REPORT.md [...]");
  process.exit(2);
}
let ok = true;
for (const file of files) {
  const text = readFileSync(file, "utf8");
  const blocks = [...text.matchAll(/^```mermaid\n([\s\S]*?)^```$/gm)].map((m) => m[1]);
  const diagrams = [];
  for (const source of blocks) {
    try {
      const result = await mermaid.parse(source);
      diagrams.push({ type: result.diagramType });
    } catch (err) {
      ok = false;
      diagrams.push({ error: String(err && err.message ? err.message : err).slice(0, 2000), source });
    }
  }
  console.log(JSON.stringify({ file, diagrams }));
}
process.exit(ok ? 0 : 1);
