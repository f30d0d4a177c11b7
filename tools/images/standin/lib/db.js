// The MongoDB connection of a stand-in, made as the QuickMeet.Chat services make it before anything else:
// the Node.js `mongodb` driver (6.x, the major the services ship) with MONGO_URL exactly as the pod got it,
// then MONGO_OPLOG_URL when the chart renders one. The services need a replica set (change streams), so a
// server that answers without `setName` is refused too. Any failure is thrown as a ConnectionError whose
// message starts with "MongoDB:" and never contains a password.
"use strict";

const { MongoClient } = require("mongodb");

class ConnectionError extends Error {
	constructor(system, message) {
		super(`${system}: ${message}`);
		this.system = system;
	}
}

// "mongodb://user:secret@host/db" -> "mongodb://user:***@host/db" (the user name helps, the secret never).
// Everything up to the LAST '@' is user information: an unescaped '@' or ':' in a password must not leave a
// piece of it in the message.
function redactMongoUrl(url) {
	const text = String(url);
	const start = text.indexOf("//");
	const at = text.lastIndexOf("@");
	if (start < 0 || at < start) return text;
	const user = text.slice(start + 2, at).split(/[:@]/)[0];
	return `${text.slice(0, start + 2)}${user}:***${text.slice(at)}`;
}

// The hosts a MongoDB URL names, for messages ("host:27017,host2:27017").
function hostsOf(url) {
	const text = String(url);
	const at = text.lastIndexOf("@");
	const m = /^mongodb(\+srv)?:\/\/([^/?]*)/.exec(at > 0 ? `mongodb://${text.slice(at + 1)}` : text);
	return m ? m[2] : "?";
}

// A driver message with any piece of the URL's password replaced (a misparsed password becomes a "host").
function scrub(message, url) {
	const text = String(url);
	const start = text.indexOf("//") + 2;
	const at = text.lastIndexOf("@");
	if (at < start) return message;
	const userinfo = text.slice(start, at);
	const colon = userinfo.indexOf(":");
	if (colon < 0) return message;
	let out = message;
	for (const piece of userinfo.slice(colon + 1).split(/[:@/]/).filter(p => p.length >= 2)) {
		out = out.split(piece).join("***");
	}
	return out;
}

function describe(err) {
	const name = (err && err.name) || "Error";
	let message = (err && err.message) || String(err);
	// Server selection errors carry the topology's reason (e.g. the replica set name the server reported).
	const reason = err && err.reason && err.reason.servers;
	if (reason && typeof reason.values === "function") {
		const details = [...reason.values()]
			.map(s => s.error && s.error.message)
			.filter(Boolean);
		if (details.length) message += ` (${[...new Set(details)].join("; ")})`;
	}
	const wanted = err && err.reason && err.reason.setName;
	if (wanted && /selection/i.test(name)) message += ` (no member of replica set '${wanted}' answered)`;
	return `${name}: ${message}`;
}

/**
 * Connect with one URL, check the server is a replica set member and the user may run `ping` on the URL's
 * database. Resolves to the open client; rejects with a ConnectionError.
 * what: "MONGO_URL" or "MONGO_OPLOG_URL" (named in the message).
 */
async function connectOne(what, url, { log, requireReplicaSet = true } = {}) {
	let client;
	try {
		client = new MongoClient(url, { appName: "qmc-standin" });
	} catch (err) {
		// MongoParseError: an unescaped password, a bad option; the driver refuses before connecting. Its
		// message may quote a piece of the credentials: then only the error's name and a generic reason.
		let reason = describe(err);
		const raw = String(url);
		const userinfo = raw.slice(raw.indexOf("//") + 2, Math.max(raw.lastIndexOf("@"), raw.indexOf("//") + 2));
		const pieces = userinfo.split(/[:@/]/).filter(p => p.length >= 2);
		if (pieces.some(p => String(err && err.message).includes(p))) {
			reason = `${(err && err.name) || "Error"}: the user information before the last '@' does not parse ` +
				"(reserved characters ': / ? # [ ] @ %' in a user name or password must be percent-encoded)";
		}
		throw new ConnectionError("MongoDB", `${what} cannot be parsed by the driver: ${reason}`);
	}
	const where = `${what} ${redactMongoUrl(url)}`;
	try {
		if (log) log(`connecting to MongoDB (${where})`);
		await client.connect();
		const db = client.db();
		await db.command({ ping: 1 });
		// ping and hello need no login: listing the URL's database does (a URL with no or wrong credentials
		// fails here, as the services' first query would).
		await db.command({ listCollections: 1, nameOnly: true, authorizedCollections: true });
		const hello = await db.command({ hello: 1 });
		if (requireReplicaSet && !hello.setName) {
			throw new ConnectionError(
				"MongoDB",
				`${where}: the server at ${hostsOf(url)} is not a replica set member (no setName in hello): ` +
					"change streams need a replica set"
			);
		}
		return { client, setName: hello.setName || "" };
	} catch (err) {
		await client.close().catch(() => {});
		if (err instanceof ConnectionError) throw err;
		throw new ConnectionError("MongoDB", `${where}: ${scrub(describe(err), url)}`);
	}
}

/** MONGO_URL (required), then MONGO_OPLOG_URL (when set). Resolves to the open clients. */
async function connectDatabase(env, { log } = {}) {
	if (!env.MONGO_URL) throw new ConnectionError("MongoDB", "MONGO_URL is not set: the service cannot start");
	const clients = [await connectOne("MONGO_URL", env.MONGO_URL, { log })];
	if (env.MONGO_OPLOG_URL) clients.push(await connectOne("MONGO_OPLOG_URL", env.MONGO_OPLOG_URL, { log }));
	return clients;
}

module.exports = { ConnectionError, connectDatabase, connectOne, hostsOf, redactMongoUrl };
