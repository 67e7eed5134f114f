// Builds internal/uaname/testdata/browsers.json: real user agents (every
// version of the npm package top-user-agents, the most common browser
// user agents of each week it was published) with the browser, OS and
// device names ua-parser-js 2.x gives them (the names the Skopos Node SDK
// stores). Run it through ../update-ua-corpus.sh.
import { UAParser } from 'ua-parser-js';
import fs from 'fs';
import path from 'path';

const [listsDir, out] = process.argv.slice(2);
const uas = new Set();
for (const f of fs.readdirSync(listsDir)) {
  const list = JSON.parse(fs.readFileSync(path.join(listsDir, f)));
  for (const ua of list) if (typeof ua === 'string') uas.add(ua);
}
const rows = [];
for (const ua of [...uas].sort()) {
  // browsers only: HTTP libraries and headless browsers in the lists
  // are the bot filter's business, not a breakdown's
  if (!ua.startsWith('Mozilla/5.0 (')) continue;
  const r = UAParser(ua);
  const browser = r.browser.name || '';
  if (browser === '' || browser === 'Chrome Headless') continue;
  rows.push({ ua, browser, os: r.os.name || '', device: r.device.type || 'desktop' });
}
fs.writeFileSync(out, '[\n' + rows.map(r => JSON.stringify(r)).join(',\n') + '\n]\n');
console.log(`${rows.length} user agents of ${uas.size} distinct → ${out}`);

// formats.txt: user agents written by hand in the formats of browsers the
// lists above hold few of (in-app browsers, tablets, TVs, consoles),
// named the same way → formats.json. Not counted in the corpus's share.
const [formatsIn, formatsOut] = process.argv.slice(4);
if (formatsIn) {
  const f = fs.readFileSync(formatsIn, 'utf8').split('\n').filter(l => l.trim() !== '');
  const named = f.map(ua => { const r = UAParser(ua); return { ua, browser: r.browser.name || '', os: r.os.name || '', device: r.device.type || 'desktop' }; });
  fs.writeFileSync(formatsOut, '[\n' + named.map(r => JSON.stringify(r)).join(',\n') + '\n]\n');
  console.log(`${named.length} hand-written formats → ${formatsOut}`);
}
