#!/usr/bin/env node
// adapter.mjs: the Claude Agent SDK (npm @anthropic-ai/claude-agent-sdk) as a client program of
// gwspec's server role, dialect claude-control/1. The harness plays the Claude Code CLI; the SDK
// spawns the CLI relay (bin/gwspec-cli-relay, `--cli`) as its `pathToClaudeCodeExecutable`, and the
// relay carries the SDK's stdin and stdout to the harness over a WebSocket ($GWSPEC_CLI_URL).
//
//   node adapter.mjs --sdk DIR --ctl HOST:PORT --case TOKEN --cli PATH [--url URL] [-v]
//   node --experimental-websocket adapter.mjs --transport ws --sdk DIR --ctl HOST:PORT
//        --case TOKEN --url WS_URL [--token T] [-v]
//
// --transport ws: the SDK's other client of a remote session, the browser build's query()
// (`@anthropic-ai/claude-agent-sdk/browser`, option `websocket: {url, headers}`), which speaks the
// same control protocol over a WebSocket to a session server: the harness plays that server
// (dialect claude-remote/1). It needs a global WebSocket (Node 22, or Node 20 with
// --experimental-websocket); the adapter wraps that class only to note `connected{attempt}` and
// `disconnected{code, was_open}` on its open and close events. `close` is then q.close().
//
// The adapter only maps the client control channel's acts to SDK calls and the SDK's callbacks and
// messages to notes; every protocol frame (initialize, control_response, interrupt, the answers to
// unknown subtypes and to cancels) is the SDK's own code. One query() per run, with streaming input.
//
// Acts ({"t":"act","id":K,"act":{NAME:ARGS}}, answered {"t":"acted","id":K,"ok":..,"result":..}):
//   send_user {text, uuid?}    one user message into the query's input  -> sent | dropped | refused
//   interrupt {}               q.interrupt() (its outcome: note response, for: interrupt) -> sent | dropped
//   answer_permission allow|deny|{behavior, tool_use_id?, request_id?, message?, updatedInput?}
//                              resolves the pending canUseTool callback (by tool_use_id, else by
//                              request_id, else the newest)
//                              -> sent | dropped | refused (none pending)
//   (`dropped`: --transport ws and no socket open at the time; the SDK is called all the same)
//   close {}                   ends the input iterable: the SDK closes the CLI's stdin -> sent
//   quit {}                    answers, then exits 0
// Notes ({"t":"note","what":..}): started, connected{attempt, pid} (the SDK spawned the CLI),
//   response{request_id, for, subtype, error?} (one of the SDK's own requests was answered: the
//   SDK's promise settled, initializationResult() for initialize, interrupt() for interrupt; the
//   id is the one the SDK wrote), input_closed{reason} (the SDK ended the CLI's stdin),
//   cli_exited{code, signal}, permission_pending{tool_use_id, request_id?, tool_name},
//   cancelled{tool_use_id, request_id?} (the callback's AbortSignal fired: the prompt is gone, the callback
//   rejects with the signal's reason, as an aborted operation does), rendered{type, subtype?,
//   uuid?, origin: cli} for every message the query yields, result{subtype, is_error},
//   ended{error?} when the query's iterator finishes; with --transport ws also
//   disconnected{code, was_open}, and `response` has request_id null (no lines are watched).
// The CLI is spawned through the SDK's public `spawnClaudeCodeProcess` option with the SDK's own
// command, argv, cwd, env and signal, as its built-in spawn does (three pipes): the
// adapter only watches the lines the SDK writes, to learn the ids of its own requests and when it
// ends the input. It never writes to the CLI and never reads what the CLI sends.
// Exit status: 0 (quit, the channel closed, SIGTERM), 1 (the SDK cannot be loaded, no channel),
// 2 (usage).
import net from 'node:net';
import { spawn } from 'node:child_process';
import path from 'node:path';
import fs from 'node:fs';
import { pathToFileURL } from 'node:url';

function usage(msg) {
  process.stderr.write(`adapter: ${msg}\nusage: node adapter.mjs --sdk DIR --ctl HOST:PORT ` +
    `--case TOKEN --cli PATH [--url URL] [-v]\n`);
  process.exit(2);
}

const opt = { verbose: 0 };
{
  const a = process.argv.slice(2);
  for (let i = 0; i < a.length; i++) {
    const k = a[i];
    const val = () => (i + 1 < a.length ? a[++i] : usage(`${k} needs a value`));
    if (k === '--sdk') opt.sdk = val();
    else if (k === '--ctl') opt.ctl = val();
    else if (k === '--case') opt.caseToken = val();
    else if (k === '--cli') opt.cli = val();
    else if (k === '--url') opt.url = val();
    else if (k === '--transport') opt.transport = val();
    else if (k === '--token') opt.token = val();
    else if (k === '-v') opt.verbose++;
    else usage(`unknown argument ${k}`);
  }
  opt.transport ??= 'process';
  if (opt.transport !== 'process' && opt.transport !== 'ws') usage('--transport is process or ws');
  if (!opt.sdk || !opt.ctl) usage('--sdk and --ctl are required');
  if (opt.transport === 'process' && !opt.cli) usage('--cli is required (--transport process)');
  if (opt.transport === 'ws' && !opt.url) usage('--url is required (--transport ws)');
  if (opt.transport === 'ws' && typeof globalThis.WebSocket !== 'function')
    usage('--transport ws needs a global WebSocket (node >= 22, or node --experimental-websocket)');
}
const log = (...m) => { if (opt.verbose) process.stderr.write(`adapter: ${m.join(' ')}\n`); };

// ---- the SDK ------------------------------------------------------------------------------
let sdk, sdkVersion = '?';
try {
  const dir = path.resolve(opt.sdk);
  sdkVersion = JSON.parse(fs.readFileSync(path.join(dir, 'package.json'), 'utf8')).version;
  const entry = opt.transport === 'ws' ? 'browser-sdk.js' : 'sdk.mjs';
  sdk = await import(pathToFileURL(path.join(dir, entry)).href);
} catch (e) {
  process.stderr.write(`adapter: cannot load the SDK from ${opt.sdk}: ${e.message}\n`);
  process.exit(1);
}

// ---- the client control channel -------------------------------------------------------------
const [host, port] = (() => {
  const i = opt.ctl.lastIndexOf(':');
  if (i <= 0) usage('--ctl is HOST:PORT');
  return [opt.ctl.slice(0, i), Number(opt.ctl.slice(i + 1))];
})();
const ctl = net.connect({ host, port });
let ctlUp = false;
function send(obj) {
  if (!ctlUp) return;
  log('->', JSON.stringify(obj));
  ctl.write(JSON.stringify(obj) + '\n');
}
const note = (what, fields = {}) => send({ t: 'note', what, ...fields });
const acted = (id, ok, result, error) =>
  send({ t: 'acted', id, ok, ...(result ? { result } : {}), ...(error ? { error } : {}) });

ctl.on('error', (e) => {
  process.stderr.write(`adapter: control channel ${opt.ctl}: ${e.message}\n`);
  process.exit(ctlUp ? 0 : 1);
});
ctl.on('close', () => { log('control channel closed'); process.exit(0); });
process.on('SIGTERM', () => process.exit(0));
// tests/interop-claude-sdk.sh sweeps the groups recorded here (the harness makes this process the
// leader of its own group, and the SDK's CLI child stays in it)
if (process.env.GWSPEC_INTEROP_PGIDS) {
  try { fs.appendFileSync(process.env.GWSPEC_INTEROP_PGIDS, `${process.pid}\n`); } catch { /* best effort */ }
}
process.on('SIGINT', () => process.exit(0));

// ---- the query's input: an async iterable fed by send_user, ended by close --------------------
const input = {
  queue: [], waiter: null, ended: false,
  push(m) { if (this.waiter) { const w = this.waiter; this.waiter = null; w({ value: m, done: false }); } else this.queue.push(m); },
  end() { this.ended = true; if (this.waiter) { const w = this.waiter; this.waiter = null; w({ value: undefined, done: true }); } },
  [Symbol.asyncIterator]() {
    return {
      next: () => {
        if (this.queue.length) return Promise.resolve({ value: this.queue.shift(), done: false });
        if (this.ended) return Promise.resolve({ value: undefined, done: true });
        return new Promise((r) => { this.waiter = r; });
      },
      return: () => { this.ended = true; return Promise.resolve({ value: undefined, done: true }); },
    };
  },
};

// ---- permission prompts: canUseTool callbacks waiting for answer_permission ---------------------
// A prompt is named by its tool_use_id (what every SDK version's callback is given, as toolUseID);
// the request_id is added to the notes when the SDK passes it (ctx.requestId, not in 0.3.165).
const pending = []; // {toolUseId, requestId, toolName, input, resolve, reject}, oldest first

const promptIds = (p) => ({ ...(p.toolUseId ? { tool_use_id: p.toolUseId } : {}),
  ...(p.requestId ? { request_id: p.requestId } : {}) });

function canUseTool(toolName, toolInput, ctx) {
  return new Promise((resolve, reject) => {
    const p = { toolUseId: ctx?.toolUseID, requestId: ctx?.requestId, toolName, input: toolInput,
      resolve, reject };
    const signal = ctx?.signal;
    if (signal?.aborted) { reject(signal.reason); return; }
    pending.push(p);
    note('permission_pending', { ...promptIds(p), tool_name: toolName });
    signal?.addEventListener('abort', () => {
      const i = pending.indexOf(p);
      if (i < 0) return; // already answered
      pending.splice(i, 1);
      note('cancelled', promptIds(p));
      reject(signal.reason);
    }, { once: true });
  });
}

function answerPermission(id, arg) {
  let behavior, toolUseId, reqId, message, updatedInput;
  if (arg === 'allow' || arg === 'deny') behavior = arg;
  else if (arg && typeof arg === 'object' && (arg.behavior === 'allow' || arg.behavior === 'deny')) {
    ({ behavior, tool_use_id: toolUseId, request_id: reqId, message, updatedInput } = arg);
    if ((toolUseId !== undefined && typeof toolUseId !== 'string') ||
        (reqId !== undefined && typeof reqId !== 'string'))
      return acted(id, false, null, 'bad act: answer_permission tool_use_id and request_id are strings');
  } else {
    return acted(id, false, null, 'bad act: answer_permission is allow, deny or {behavior, ...}');
  }
  const i = toolUseId !== undefined ? pending.findIndex((p) => p.toolUseId === toolUseId)
    : reqId !== undefined ? pending.findIndex((p) => p.requestId === reqId)
    : pending.length - 1;
  if (i < 0) return acted(id, true, 'refused');
  const [p] = pending.splice(i, 1);
  if (behavior === 'allow') p.resolve({ behavior: 'allow', updatedInput: updatedInput ?? p.input });
  else p.resolve({ behavior: 'deny', message: message ?? 'Denied by user' });
  acted(id, true, outcome());
}

// ---- acts -----------------------------------------------------------------------------------
let q = null;
// What an act's frame met: `sent`, or with --transport ws and no open socket `dropped` (the act is
// still handed to the SDK, which decides what becomes of it; the result only reports the state).
let sockOpen = () => true;
const outcome = () => (sockOpen() ? 'sent' : 'dropped');

function onAct(id, act) {
  if (typeof id !== 'number' || !act || typeof act !== 'object' || Object.keys(act).length !== 1)
    return acted(id ?? null, false, null, 'bad act: {"t":"act","id":N,"act":{NAME: ARGS}}');
  const [name, arg] = Object.entries(act)[0];
  switch (name) {
    case 'send_user': {
      if (!arg || typeof arg.text !== 'string')
        return acted(id, false, null, 'bad act: send_user needs a string text');
      if (arg.uuid !== undefined && typeof arg.uuid !== 'string')
        return acted(id, false, null, 'bad act: send_user uuid is a string');
      if (input.ended) return acted(id, true, 'refused');
      input.push({ type: 'user', message: { role: 'user', content: arg.text },
        parent_tool_use_id: null, session_id: '', ...(arg.uuid ? { uuid: arg.uuid } : {}) });
      return acted(id, true, outcome());
    }
    case 'interrupt': {
      const k = interrupts++;
      q.interrupt().then(() => noteResponse('interrupt', k, null),
        (e) => noteResponse('interrupt', k, e));
      return acted(id, true, outcome());
    }
    case 'answer_permission':
      return answerPermission(id, arg);
    case 'close':
      input.end();
      if (opt.transport === 'ws') q.close();
      return acted(id, true, 'sent');
    case 'quit':
      acted(id, true, 'sent');
      ctl.end(() => process.exit(0));
      setTimeout(() => process.exit(0), 200).unref();
      return;
    default:
      return acted(id, false, null, `unknown act ${name}`);
  }
}

let rx = '';
ctl.on('data', (d) => {
  rx += d.toString('utf8');
  let nl;
  while ((nl = rx.indexOf('\n')) >= 0) {
    const line = rx.slice(0, nl);
    rx = rx.slice(nl + 1);
    if (!line.trim()) continue;
    let m;
    try { m = JSON.parse(line); } catch { log('control line is not JSON:', line); continue; }
    log('<-', line);
    if (m && m.t === 'act') onAct(m.id, m.act);
  }
});

// ---- the CLI process, spawned for the SDK: what the SDK writes is watched, nothing more ----------
const own = { initialize: [], interrupt: [] }; // the ids of the SDK's own requests, in write order
let spawns = 0, interrupts = 0;

function watchWrites(line) {
  let m;
  try { m = JSON.parse(line); } catch { return; }
  const sub = m?.type === 'control_request' ? m.request?.subtype : undefined;
  if (typeof m?.request_id === 'string' && own[sub]) own[sub].push(m.request_id);
}

// the k-th request of `subtype` the SDK made was settled by the SDK (err: its rejection)
function noteResponse(subtype, k, err) {
  const f = { request_id: own[subtype][k] ?? null, for: subtype, subtype: err ? 'error' : 'success' };
  if (err) f.error = String(err?.message ?? err);
  note('response', f);
}

function spawnCli(o) {
  const cp = spawn(o.command, o.args, { cwd: o.cwd, env: o.env, signal: o.signal,
    stdio: ['pipe', 'pipe', 'pipe'], windowsHide: true });
  const attempt = ++spawns;
  cp.once('spawn', () => note('connected', { attempt, pid: cp.pid }));
  cp.once('exit', (code, signal) => note('cli_exited', { code, signal }));
  cp.stderr.on('data', (d) => log('cli stderr:', String(d).trimEnd()));
  let pend = '';
  const write = cp.stdin.write.bind(cp.stdin), end = cp.stdin.end.bind(cp.stdin);
  cp.stdin.write = (chunk, ...rest) => {
    pend += typeof chunk === 'string' ? chunk : Buffer.from(chunk).toString('utf8');
    let nl;
    while ((nl = pend.indexOf('\n')) >= 0) { watchWrites(pend.slice(0, nl)); pend = pend.slice(nl + 1); }
    return write(chunk, ...rest);
  };
  cp.stdin.end = (...a) => { note('input_closed', { reason: 'the SDK ended the stdin' }); return end(...a); };
  return cp;
}

// ---- --transport ws: notes on the socket's open and close, nothing else --------------------------
function watchWebSocket() {
  const Base = globalThis.WebSocket;
  let attempts = 0, current = null;
  sockOpen = () => !!current && current.readyState === Base.OPEN;
  globalThis.WebSocket = class extends Base {
    constructor(...a) {
      super(...a);
      const attempt = ++attempts;
      current = this;
      let open = false;
      this.addEventListener('open', () => { open = true; note('connected', { attempt }); });
      this.addEventListener('close', (ev) => note('disconnected', { code: ev.code, was_open: open }));
    }
  };
}

// ---- the run --------------------------------------------------------------------------------
ctl.on('connect', async () => {
  ctlUp = true;
  send({ t: 'hello', role: 'client', case: opt.caseToken ?? '', label: 'client',
    dialect: 'claude-control/1', pid: process.pid, client: 'claude-agent-sdk', version: sdkVersion });
  if (opt.transport === 'ws') {
    watchWebSocket();
    const headers = { 'anthropic-version': '2023-06-01' };
    if (opt.token) headers.Authorization = `Bearer ${opt.token}`;
    q = sdk.query({ prompt: input, websocket: { url: opt.url, headers }, canUseTool });
    note('started', { url: opt.url });
  } else {
    const env = { ...process.env };
    if (opt.url) env.GWSPEC_CLI_URL = opt.url;
    q = sdk.query({ prompt: input, options: {
      pathToClaudeCodeExecutable: path.resolve(opt.cli),
      env,
      canUseTool,
      spawnClaudeCodeProcess: spawnCli,
    } });
    note('started', { cli: path.resolve(opt.cli) });
    q.initializationResult().then(() => noteResponse('initialize', 0, null),
      (e) => noteResponse('initialize', 0, e));
  }
  try {
    for await (const m of q) {
      const f = { type: m.type, origin: 'cli' };
      if (m.subtype) f.subtype = m.subtype;
      if (m.uuid) f.uuid = m.uuid;
      note('rendered', f);
      if (m.type === 'result') note('result', { subtype: m.subtype ?? null, is_error: !!m.is_error });
    }
    note('ended', {});
  } catch (e) {
    note('ended', { error: String(e?.message ?? e) });
  }
});
