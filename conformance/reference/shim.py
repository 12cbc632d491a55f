"""The Node preload that keeps LangChain's token counting offline.

`@langchain/core` downloads `https://tiktoken.pages.dev/js/<encoding>.json` to count tokens after
every streamed LLM call, retrying with back-off and never caching the failure: offline, each call
stalls about a minute. The installed `js-tiktoken` package ships the same tables as
`dist/ranks/<encoding>.cjs` (`module.exports = {...}`, the JSON's shape), so a `fetch` wrapper loaded
with `NODE_OPTIONS=--require` answers those URLs from disk and passes every other URL through.
Nothing in node_modules is modified.
"""

from __future__ import annotations

import json
from pathlib import Path

__all__ = ["SHIM_TEMPLATE", "find_rank_dirs", "write_shim"]

SHIM_TEMPLATE = """\
'use strict';
// Answers LangChain's tiktoken table downloads from the installed js-tiktoken (written by
// conformance.reference; see shim.py there for why).
const path = require('path');
const fs = require('fs');
const RANK_DIRS = __RANK_DIRS__;
const PREFIX = 'https://tiktoken.pages.dev/js/';
const realFetch = globalThis.fetch;
if (typeof realFetch === 'function' && !realFetch.__flowiseOfflineTiktoken) {
  const cache = new Map();
  const load = (encoding) => {
    if (cache.has(encoding)) return cache.get(encoding);
    for (const dir of RANK_DIRS) {
      const file = path.join(dir, encoding + '.cjs');
      if (fs.existsSync(file)) {
        const body = JSON.stringify(require(file));
        cache.set(encoding, body);
        return body;
      }
    }
    return null;
  };
  const wrapped = async function (input, init) {
    const url = typeof input === 'string' ? input : (input && (input.url || input.href)) || String(input);
    if (url.startsWith(PREFIX) && url.endsWith('.json')) {
      const encoding = url.slice(PREFIX.length, -'.json'.length);
      if (/^[A-Za-z0-9_]+$/.test(encoding)) {
        const body = load(encoding);
        if (body !== null) {
          return new Response(body, { status: 200, headers: { 'content-type': 'application/json' } });
        }
      }
    }
    return realFetch.call(this, input, init);
  };
  wrapped.__flowiseOfflineTiktoken = true;
  globalThis.fetch = wrapped;
}
"""


def find_rank_dirs(node_modules: Path) -> list[Path]:
    """Every `js-tiktoken/dist/ranks` folder of the install, the top-level one first."""
    top = node_modules / "js-tiktoken" / "dist" / "ranks"
    nested = sorted(p for p in node_modules.glob("**/node_modules/js-tiktoken/dist/ranks") if p != top)
    return [p for p in [top, *nested] if p.is_dir()]


def write_shim(target: Path, node_modules: Path) -> Path:
    """Write the preload to `target`, with the rank folders of this install baked in."""
    dirs = [str(p) for p in find_rank_dirs(node_modules)]
    target.write_text(SHIM_TEMPLATE.replace("__RANK_DIRS__", json.dumps(dirs)))
    return target
