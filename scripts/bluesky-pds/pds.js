#!/usr/bin/env node
// A real, local Bluesky PDS for crosspost's integration tests.
//
// Starts @atproto/dev-env's TestNetworkNoAppView (a PLC directory and the reference PDS, SQLite
// only, nothing contacted off the machine) on fixed ports with its data under DIR, plus a tiny
// stand-in AppView that answers only app.bsky.actor.getProfile (the Python SDK's login() asks for
// the profile and the PDS proxies that call to the AppView). Writes DIR/ready.json once the PDS
// answers, and closes everything on SIGTERM/SIGINT.
//
//   node pds.js --dir DIR --port PORT [--plc-port N] [--appview-port N] [--account HANDLE:PASSWORD]...
//
// Defaults: --plc-port PORT+1, --appview-port PORT+2. Handles must end in ".test" and must not be
// reserved words (e.g. "demo.test" is refused with HandleNotAvailable). Accounts can
// also be created later over HTTP (com.atproto.server.createAccount, no invite needed); the
// integration tests do that themselves.
'use strict'

const fs = require('node:fs')
const http = require('node:http')
const path = require('node:path')

function parseArgs(argv) {
  const out = { accounts: [] }
  for (let i = 0; i < argv.length; i++) {
    const key = argv[i]
    const value = argv[i + 1]
    if (value === undefined) usage(`missing value for ${key}`)
    i++
    if (key === '--dir') out.dir = path.resolve(value)
    else if (key === '--port') out.port = Number(value)
    else if (key === '--plc-port') out.plcPort = Number(value)
    else if (key === '--appview-port') out.appviewPort = Number(value)
    else if (key === '--account') out.accounts.push(value)
    else usage(`unknown option ${key}`)
  }
  if (!out.dir || !Number.isInteger(out.port)) usage('--dir and --port are required')
  out.plcPort = out.plcPort || out.port + 1
  out.appviewPort = out.appviewPort || out.port + 2
  return out
}

function usage(problem) {
  console.error(`pds.js: ${problem}`)
  console.error('usage: node pds.js --dir DIR --port PORT [--plc-port N] [--appview-port N] [--account HANDLE:PASSWORD]...')
  process.exit(2)
}

function sendJson(res, status, body) {
  const data = JSON.stringify(body)
  res.writeHead(status, { 'content-type': 'application/json', 'content-length': Buffer.byteLength(data) })
  res.end(data)
}

// The AppView stand-in: getProfile with {did, handle} for accounts of this PDS, nothing else.
function startAppView(port, getNet) {
  const server = http.createServer(async (req, res) => {
    const url = new URL(req.url, 'http://127.0.0.1')
    if (url.pathname !== '/xrpc/app.bsky.actor.getProfile') {
      return sendJson(res, 501, { error: 'MethodNotImplemented', message: `${url.pathname} is not served by the AppView stand-in` })
    }
    try {
      const actor = url.searchParams.get('actor') || ''
      const net = getNet()
      const account = net ? await net.pds.ctx.accountManager.getAccount(actor) : null
      if (!account) return sendJson(res, 400, { error: 'InvalidRequest', message: 'Profile not found' })
      return sendJson(res, 200, { did: account.did, handle: account.handle || 'handle.invalid' })
    } catch (err) {
      return sendJson(res, 500, { error: 'InternalServerError', message: String(err) })
    }
  })
  return new Promise((resolve, reject) => {
    server.once('error', reject)
    server.listen(port, '127.0.0.1', () => resolve(server))
  })
}

async function main() {
  const opts = parseArgs(process.argv.slice(2))
  const readyFile = path.join(opts.dir, 'ready.json')
  const dataDirectory = path.join(opts.dir, 'pds-data')
  const blobstoreDiskLocation = path.join(opts.dir, 'pds-blobs')
  fs.mkdirSync(dataDirectory, { recursive: true })
  fs.mkdirSync(blobstoreDiskLocation, { recursive: true })
  fs.rmSync(readyFile, { force: true })

  const { TestNetworkNoAppView } = require('@atproto/dev-env')
  let net = null
  const appview = await startAppView(opts.appviewPort, () => net)
  net = await TestNetworkNoAppView.create({
    plc: { port: opts.plcPort },
    pds: {
      port: opts.port,
      dataDirectory,
      blobstoreDiskLocation,
      bskyAppViewUrl: `http://127.0.0.1:${opts.appviewPort}`,
      bskyAppViewDid: 'did:example:appview-stand-in',
    },
  })

  let closing = false
  const shutdown = async (signal) => {
    if (closing) return
    closing = true
    console.log(`pds.js: ${signal}, closing`)
    fs.rmSync(readyFile, { force: true })
    try {
      await net.close()
    } finally {
      appview.close()
      process.exit(0)
    }
  }
  process.on('SIGTERM', () => shutdown('SIGTERM'))
  process.on('SIGINT', () => shutdown('SIGINT'))

  const agent = net.pds.getClient()
  const accounts = []
  for (const spec of opts.accounts) {
    const sep = spec.indexOf(':')
    const handle = spec.slice(0, sep)
    const password = spec.slice(sep + 1)
    const res = await agent.com.atproto.server.createAccount({
      handle,
      password,
      email: `${handle.split('.')[0]}@crosspost.invalid`,
    })
    accounts.push({ handle, did: res.data.did })
    console.log(`pds.js: created ${handle} (${res.data.did})`)
  }

  const ready = {
    pds: `http://127.0.0.1:${opts.port}`,
    plc: `http://127.0.0.1:${opts.plcPort}`,
    appview: `http://127.0.0.1:${opts.appviewPort}`,
    pid: process.pid,
    accounts,
  }
  fs.writeFileSync(`${readyFile}.tmp`, JSON.stringify(ready, null, 2))
  fs.renameSync(`${readyFile}.tmp`, readyFile)
  console.log(`pds.js: ready at ${ready.pds}`)
}

main().catch((err) => {
  console.error('pds.js: failed to start:', err)
  process.exit(1)
})
