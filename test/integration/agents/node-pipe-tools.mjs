// An agent that runs two local tools over their stdin/stdout (no JSON-RPC): `tr a-z A-Z` given a
// request of more than 64 bytes, and `cat` given a short one. Node gives a child's stdio over a
// unix socketpair (each end its own inode). Then a Python tool runner that runs `tr` over real
// pipes (subprocess.PIPE: one inode, both processes on it). Prints
// {pid, tools: [{name, request, response}], pyPid, py: {request, response}} as JSON.
import { spawn } from 'node:child_process';

function run(cmd, args, input) {
  return new Promise((resolve, reject) => {
    const c = spawn(cmd, args, { stdio: ['pipe', 'pipe', 'inherit'] });
    let out = '';
    c.stdout.setEncoding('utf8');
    c.stdout.on('data', (d) => (out += d));
    c.on('error', reject);
    c.on('exit', (code) => (code === 0 ? resolve(out) : reject(new Error(`${cmd} exited ${code}`))));
    c.stdin.end(input);
  });
}

const tools = [];
const long = 'please summarise the quarterly numbers for the finance team and list every open item\n';
tools.push({ name: 'tr', request: long, response: await run('tr', ['a-z', 'A-Z'], long) });
const short = 'ok?\n';
tools.push({ name: 'cat', request: short, response: await run('cat', [], short) });
const pyReq = 'the python tool runner sends this line to tr over a real pipe, both ends traced\n';
const py = JSON.parse(await run('python3', ['-c', 'import json, os, subprocess, sys\nr = subprocess.run(["tr", "a-z", "A-Z"], input=sys.stdin.read().encode(), capture_output=True, check=True)\nprint(json.dumps({"pid": os.getpid(), "response": r.stdout.decode()}))'], pyReq));
// Let the sensor see the tools' exits and the sockets close before this process exits.
await new Promise((r) => setTimeout(r, 500));
console.log(JSON.stringify({ pid: process.pid, tools, pyPid: py.pid, py: { request: pyReq, response: py.response } }));
