// The Moleculer 0.14 broker of a stand-in: configured from the environment variables the QuickMeet.Chat
// services read (their network broker: TRANSPORTER, MS_NAMESPACE, HEARTBEAT_INTERVAL, ...), announcing
// the component's service names. Also the broker of the bus-probe self-test peer (fixtures/moleculer).
"use strict";

const { ServiceBroker } = require("moleculer");

// component -> the Moleculer services it announces (CONTRACT.md > Components).
const SERVICES = Object.freeze({
	monolith: ["meteor", "license", "settings", "user-presence-monolith"],
	authorization: ["authorization"],
	accounts: ["accounts"],
	presence: ["presence"],
	"ddp-streamer": ["streamer"],
	"stream-hub": ["hub"]
});

const MONOLITH_ONLY = "monolith+";
// What the monolith starts in its own process when it is NOT in microservices mode (TRANSPORTER is not
// nats://...): the services the microservice pods would otherwise provide.
const MONOLITH_LOCAL_SERVICES = Object.freeze(["authorization", "accounts", "presence"]);

// A trivial service per name, like the QuickMeet.Chat services seen from the bus: one action.
function trivialService(name) {
	return {
		name,
		actions: {
			status() {
				return { service: name, nodeID: this.broker.nodeID };
			}
		}
	};
}

function seconds(value, fallback) {
	const n = Number(value);
	return Number.isFinite(n) && n > 0 ? n : fallback;
}

// The broker settings the real services derive from their environment (same names, same defaults).
// "monolith+nats://..." links monolith instances only: the monolith strips the marker and is then not in
// microservices mode; a microservice gets the string as it is, which Moleculer refuses (the pod crashes).
function settingsFromEnv(env, component) {
	const heartbeat = seconds(env.HEARTBEAT_INTERVAL, 10);
	let transporter = env.TRANSPORTER || "";
	const monolithMode = component === "monolith" && transporter.startsWith(MONOLITH_ONLY);
	if (monolithMode) transporter = transporter.slice(MONOLITH_ONLY.length);
	return {
		transporter,
		monolithMode,
		namespace: env.MS_NAMESPACE || "",
		heartbeatInterval: heartbeat,
		heartbeatTimeout: seconds(env.HEARTBEAT_TIMEOUT, heartbeat * 3),
		requestTimeout: seconds(env.REQUEST_TIMEOUT, 60) * 1000,
		logLevel: env.MOLECULER_LOG_LEVEL || "warn",
		retryEnabled: env.RETRY_ENABLED === "true",
		metrics: env.MS_METRICS === "true",
		metricsPort: Number(env.MS_METRICS_PORT || 9458)
	};
}

/**
 * A ServiceBroker announcing `services`.
 * opts: settingsFromEnv() fields plus nodeID (default: Moleculer's <hostname>-<pid>), silent (never
 * heartbeat), noPong (never answer PING), protocolVersion (stamp packets with another protocol
 * version). Like the real services, a broker whose NATS is unreachable retries every 5 s for ever.
 */
function createBroker(opts, services) {
	const broker = new ServiceBroker({
		nodeID: opts.nodeID || undefined,
		namespace: opts.namespace,
		transporter: opts.transporter || null,
		heartbeatInterval: opts.heartbeatInterval,
		heartbeatTimeout: opts.heartbeatTimeout,
		requestTimeout: opts.requestTimeout,
		// Warnings and errors go to stderr (console.warn/error); stdout carries only READY lines.
		logger: { type: "Console", options: { level: opts.logLevel || "warn" } },
		retryPolicy: { enabled: Boolean(opts.retryEnabled) },
		metrics: opts.metrics
			? { enabled: true, reporter: [{ type: "Prometheus", options: { port: opts.metricsPort, path: "/metrics" } }] }
			: false,
		transit: { maxQueueSize: 1000, disableVersionCheck: Boolean(opts.protocolVersion) },
		// The stand-in stops the broker itself on SIGTERM (and its HTTP server with it).
		skipProcessEventRegistration: true
	});
	if (opts.protocolVersion) broker.PROTOCOL_VERSION = opts.protocolVersion;
	for (const name of services) broker.createService(trivialService(name));
	if (opts.silent) {
		// The heartbeat timer calls discoverer.beat(); a no-op beat keeps the node otherwise alive.
		broker.registry.discoverer.beat = () => Promise.resolve();
	}
	if (opts.noPong && broker.transit) broker.transit.sendPong = () => Promise.resolve();
	return broker;
}

// The service names a component announces with these settings.
function servicesOf(component, settings) {
	const own = SERVICES[component] || [];
	return settings.monolithMode || (component === "monolith" && !settings.transporter)
		? [...own, ...MONOLITH_LOCAL_SERVICES]
		: own;
}

module.exports = { SERVICES, createBroker, servicesOf, settingsFromEnv, trivialService };
