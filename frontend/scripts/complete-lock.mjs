// Run after `npm install` on this project's machines: the npm registry they reach serves only
// the Linux builds of platform-specific optional packages (@next/swc-*, tailwind's oxide-*), so
// npm leaves the other platforms out of package-lock.json and `npm ci` then refuses the lock
// ("Missing: @next/swc-darwin-arm64 from lock file"). This adds each missing optional package
// as an entry restricted to its platform, which `npm ci` skips on Linux and fetches elsewhere.
import { readFileSync, writeFileSync } from "node:fs";

const file = new URL("../package-lock.json", import.meta.url);
const lock = JSON.parse(readFileSync(file, "utf8"));
const packages = lock.packages;
const PLATFORM = /-(android|darwin|freebsd|linux|openbsd|sunos|win32)-(arm64|x64|arm|ia32)/;
const added = [];

for (const meta of Object.values(packages)) {
  for (const [name, version] of Object.entries(meta.optionalDependencies ?? {})) {
    const key = `node_modules/${name}`;
    if (packages[key]) continue;
    const entry = { version, optional: true };
    const platform = PLATFORM.exec(name);
    if (platform) Object.assign(entry, { os: [platform[1]], cpu: [platform[2]] });
    else if (name.includes("-wasm32-")) entry.cpu = ["wasm32"];
    else continue; // not a platform build: leave it to npm
    packages[key] = entry;
    added.push(`${name}@${version}`);
  }
}

writeFileSync(file, `${JSON.stringify(lock, null, 2)}\n`);
console.log(added.length ? `added to package-lock.json: ${added.join(", ")}` : "package-lock.json already complete");
