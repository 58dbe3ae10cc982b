// JavaScript each page sends on first load, read from the production build (.next): the shared
// runtime chunks plus every client chunk the route's layouts, page, loading and error
// boundaries need. `next build` with Turbopack no longer prints these sizes itself.
import { readFileSync, readdirSync, statSync } from "node:fs";
import path from "node:path";
import vm from "node:vm";
import { gzipSync } from "node:zlib";

const next = path.join(path.dirname(new URL(import.meta.url).pathname), "..", ".next");
const build = JSON.parse(readFileSync(path.join(next, "build-manifest.json"), "utf8"));

function manifests(dir) {
  return readdirSync(dir).flatMap((name) => {
    const full = path.join(dir, name);
    if (statSync(full).isDirectory()) return manifests(full);
    return name === "page_client-reference-manifest.js" ? [full] : [];
  });
}

const sizes = new Map();
function size(file) {
  if (!sizes.has(file)) {
    const body = readFileSync(path.join(next, file));
    sizes.set(file, { raw: body.length, gzip: gzipSync(body, { level: 9 }).length });
  }
  return sizes.get(file);
}

const rows = [];
for (const file of manifests(path.join(next, "server", "app"))) {
  const sandbox = { globalThis: {} };
  sandbox.globalThis = sandbox;
  vm.runInNewContext(readFileSync(file, "utf8"), sandbox);
  for (const [route, manifest] of Object.entries(sandbox.__RSC_MANIFEST)) {
    const files = new Set(build.rootMainFiles);
    for (const chunks of Object.values(manifest.entryJSFiles)) for (const c of chunks) files.add(c);
    const total = [...files].map(size).reduce((a, s) => ({ raw: a.raw + s.raw, gzip: a.gzip + s.gzip }), { raw: 0, gzip: 0 });
    const url = route.replace(/\/page$/, "") || "/";
    if (url.startsWith("/_")) continue;
    rows.push({ route: url, files: files.size, "first load JS (gzip)": `${(total.gzip / 1024).toFixed(1)} kB`, raw: `${(total.raw / 1024).toFixed(1)} kB` });
  }
}
rows.sort((a, b) => a.route.localeCompare(b.route));
const shared = build.rootMainFiles.map(size).reduce((a, s) => a + s.gzip, 0);
console.log(`JavaScript per page (shared by all: ${(shared / 1024).toFixed(1)} kB gzip):`);
console.table(rows);
