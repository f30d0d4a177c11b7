#!/usr/bin/env node
// A stand-in for one QuickMeet.Chat component, for clusters that cannot pull the real images.
//
//   node standin.js <component> [args the chart gives the container: logged, ignored]
//
// component: monolith | ddp-streamer | accounts | authorization | presence | stream-hub | mongodb | aux
// (else $QMC_STANDIN_COMPONENT). Each image bakes its component in: what a stand-in is comes from the
// image it was built as, never from the pod. Everything else comes from what the chart gives the pod,
// read like the real services read it:
//
// * MONGO_URL, then MONGO_OPLOG_URL (lib/db.js): connected first with the mongodb driver, as the services
//   do; a refusal stops the stand-in with the reason in its log and termination message (no password).
// * TRANSPORTER (nats://host:4222, a plain value or from a Secret; monolith+nats://... puts the monolith
//   out of microservices mode: it then also announces authorization, accounts and presence, and a
//   microservice refuses it), MS_NAMESPACE, HEARTBEAT_INTERVAL,
//   HEARTBEAT_TIMEOUT, MOLECULER_LOG_LEVEL, REQUEST_TIMEOUT, RETRY_ENABLED: a real Moleculer 0.14
//   broker joins the bus with the component's service names (CONTRACT.md > Components) and answers
//   DISCOVER, PING and heartbeats. An unreachable TRANSPORTER is retried every 5 s for ever, as the
//   real services do: the node never appears on the bus.
// * PORT (default 3000): the monolith and ddp-streamer serve HTTP and DDP over WebSocket (lib/ddp.js).
//   ddp-streamer opens it only after its start-up call to the monolith (license.status) over the bus
//   answered; its /health says ok only while its broker is connected. NATS refusing TRANSPORTER's
//   credentials stops the stand-in like a MongoDB refusal.
// * MS_METRICS=true, MS_METRICS_PORT (9458): Moleculer's Prometheus metrics (+ users_connected).
// * mongodb: FerretDB ($QMC_FERRETDB) from the bitnami environment (lib/ferretdb.js); without it, a
//   MongoDB wire-protocol stand-in on MONGODB_PORT_NUMBER (lib/mongo.js, the probes' self-tests).
// * aux: a long-running process for sidecars (config reloaders, exporters) that does nothing.
//
// Logs go to stderr; stdout gets "READY <component> <what>" lines. SIGTERM/SIGINT stop it cleanly
// (the broker says DISCONNECT on the bus).
"use strict";

const { SERVICES, createBroker, servicesOf, settingsFromEnv } = require("./lib/bus");
const { MONOLITH, STREAMER, createDdpServer } = require("./lib/ddp");
const { createMongoServer } = require("./lib/mongo");
const { ConnectionError, connectDatabase } = require("./lib/db");
const fs = require("fs");

const COMPONENTS = [...Object.keys(SERVICES), "mongodb", "aux"];

function log(message) {
	process.stderr.write(`[qmc-standin] ${message}\n`);
}

function ready(component, what) {
	process.stdout.write(`READY ${component} ${what}\n`);
}

// A connection that cannot be made stops the service, as it stops the real one: the reason goes to the log
// and to the container's termination message (Kubernetes shows it as lastState.terminated.message, where
// the live lane's connection rule reads it), and the exit makes the pod restart and never become Ready.
function fail(component, message) {
	log(`${component}: ${message}`);
	const path = process.env.QMC_TERMINATION_LOG || "/dev/termination-log";
	try {
		fs.writeFileSync(path, `${message}\n`);
	} catch (err) {
		// not in a container (a self-test): the log line is the evidence
	}
	process.exit(1);
}

// NATS refused the credentials TRANSPORTER carries (or carries none): nats.js says AUTHORIZATION_VIOLATION
// or "Authorization Violation"/"Authentication Timeout" in the message.
function isAuthError(err) {
	const text = `${(err && err.code) || ""} ${(err && err.message) || ""}`.toLowerCase();
	return /authori[sz]ation|authentication|auth_/.test(text);
}

// ddp-streamer's start-up call to the monolith over the bus (every service depends on the monolith's
// license service, CONTRACT.md "On the bus"): retried every 5 s until it answers.
async function callMonolith(broker) {
	for (;;) {
		try {
			await broker.waitForServices(["license"], 30000);
			return await broker.call("license.status", {}, { timeout: 10000 });
		} catch (err) {
			log(`start-up call license.status to the monolith failed (${(err && err.message) || err}); retrying in 5 s`);
			await new Promise(resolve => setTimeout(resolve, 5000));
		}
	}
}

function listen(server, port, host) {
	return new Promise((resolve, reject) => {
		server.once("error", reject);
		server.listen(port, host, () => resolve(server.address()));
	});
}

function port(env, name, fallback) {
	const value = Number(env[name] || fallback);
	if (!Number.isInteger(value) || value < 0 || value > 65535) {
		log(`${name}=${env[name]} is not a port number`);
		process.exit(2);
	}
	return value;
}

// "nats://user:secret@host:4222" -> "nats://***@host:4222": credentials never reach the logs.
function redactUrl(url) {
	return String(url).replace(/\/\/[^@/]*@/, "//***@");
}

async function run(component, extraArgs, env) {
	const closers = [];
	const stop = async signal => {
		log(`${signal}: stopping`);
		const timer = setTimeout(() => process.exit(0), 5000);
		timer.unref();
		for (const close of closers.reverse()) {
			try {
				await close();
			} catch (err) {
				log(`while stopping: ${err && err.message}`);
			}
		}
		process.exit(0);
	};
	process.on("SIGTERM", () => stop("SIGTERM"));
	process.on("SIGINT", () => stop("SIGINT"));
	if (extraArgs.length) log(`${component}: ignoring arguments ${JSON.stringify(extraArgs)}`);

	if (component === "aux") {
		log("aux stand-in: running until stopped");
		setInterval(() => {}, 1 << 30);
		ready(component, "idle");
		return;
	}
	if (component === "mongodb" && env.QMC_FERRETDB && fs.existsSync(env.QMC_FERRETDB)) {
		const { startFerretdb } = require("./lib/ferretdb");
		let child;
		closers.push(() => child && child.kill("SIGTERM"));
		try {
			child = await startFerretdb(env, { binary: env.QMC_FERRETDB, log, ready });
		} catch (err) {
			fail(component, `MongoDB (FerretDB): ${err.message}`);
		}
		return;
	}
	if (component === "mongodb") {
		// No FerretDB in this image (the probes' self-tests): the wire-protocol stand-in (lib/mongo.js).
		const server = createMongoServer();
		closers.push(() => new Promise(resolve => server.close(() => resolve())));
		const address = await listen(server, port(env, "MONGODB_PORT_NUMBER", 27017), "0.0.0.0");
		ready(component, `mongodb:${address.port}`);
		return;
	}

	// MongoDB first (MONGO_URL, then MONGO_OPLOG_URL): a service that cannot reach its database stops.
	let clients = [];
	try {
		clients = await connectDatabase(env, { log });
	} catch (err) {
		if (err instanceof ConnectionError) fail(component, err.message);
		throw err;
	}
	closers.push(() => Promise.all(clients.map(c => c.client.close())));
	log(`connected to MongoDB (replica set ${clients.map(c => c.setName).join(", ")})`);

	const settings = settingsFromEnv(env, component);
	const services = servicesOf(component, settings);
	const broker = createBroker(settings, services);
	let connected = false;
	broker.localBus.on("$transporter.connected", () => (connected = true));
	broker.localBus.on("$transporter.disconnected", () => (connected = false));
	closers.push(() => broker.stop());
	const tx = broker.transit && broker.transit.tx;
	if (tx) {
		const connect = tx.connect.bind(tx);
		tx.connect = (...args) =>
			connect(...args).catch(err => {
				if (isAuthError(err)) {
					fail(component, `NATS: ${redactUrl(settings.transporter)} refused the connection: ${(err && err.message) || err}`);
				}
				throw err;
			});
	}

	let serveHttp = async () => {};
	if (component === MONOLITH || component === STREAMER) {
		let usersConnected = null;
		if (settings.metrics && component === STREAMER) {
			usersConnected = broker.metrics.register({ type: "gauge", name: "users_connected", labelNames: ["nodeID"] });
		}
		const server = createDdpServer(component, {
			healthy: () => connected || !settings.transporter,
			onSessions: n => usersConnected && usersConnected.set(n, { nodeID: broker.nodeID })
		});
		closers.push(() => server.closeAll());
		serveHttp = async () => {
			const address = await listen(server, port(env, "PORT", 3000), "0.0.0.0");
			ready(component, `http:${address.port}`);
		};
	}
	// The monolith serves HTTP once its database is there; ddp-streamer only after its start-up call to the
	// monolith over the bus succeeded (below).
	if (component !== STREAMER) await serveHttp();

	if (!settings.transporter) log("TRANSPORTER is not set: the broker runs alone, off the bus");
	else log(`joining the bus at ${redactUrl(settings.transporter)} as ${broker.nodeID} (${services.join(", ")})`);
	if (settings.monolithMode) log("TRANSPORTER is monolith+...: not in microservices mode, running every service here");
	await broker.start();
	connected = Boolean(settings.transporter);
	ready(component, `bus:${broker.nodeID}`);
	if (component === STREAMER) {
		if (settings.transporter) {
			await callMonolith(broker);
			log("the monolith answered license.status over the bus: opening the HTTP/DDP port");
		}
		await serveHttp();
	}
}

function main(argv, env) {
	const component = argv[2] && !argv[2].startsWith("-") ? argv[2] : env.QMC_STANDIN_COMPONENT;
	if (!COMPONENTS.includes(component)) {
		log(`unknown component ${JSON.stringify(component)}; expected one of: ${COMPONENTS.join(", ")}`);
		process.exit(2);
	}
	const extraArgs = argv.slice(argv[2] === component ? 3 : 2);
	run(component, extraArgs, env).catch(err => {
		log(`${component}: ${err && err.stack ? err.stack : err}`);
		process.exit(1);
	});
}

if (require.main === module) main(process.argv, process.env);

module.exports = { COMPONENTS, redactUrl };
