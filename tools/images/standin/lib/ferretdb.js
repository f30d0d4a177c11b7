// The release's MongoDB on kind: FerretDB v1 (SQLite backend, scripts/build-ferretdb.sh) started the way
// the bitnami MongoDB image starts mongod, from the same environment and Secrets the chart gives the
// container (MONGODB_ROOT_USER/PASSWORD, MONGODB_EXTRA_USERNAMES/PASSWORDS/DATABASES, the replica set
// name and mode, the port, the advertised host name; *_FILE variants too). What FerretDB v1 serves and
// what it cannot is in docs/kind-images.md ("The MongoDB"): no secondaries, no oplog, no change streams,
// no roles.
"use strict";

const { spawn } = require("child_process");
const dns = require("dns").promises;
const fs = require("fs");
const net = require("net");
const { MongoClient } = require("mongodb");

const DATA_DIR = "/bitnami/mongodb/data";

function setting(env, name, fallback = "") {
	const file = env[`${name}_FILE`];
	if (file) {
		try {
			return fs.readFileSync(file, "utf8").trim();
		} catch (err) {
			throw new Error(`${name}_FILE=${file} cannot be read: ${err.message}`);
		}
	}
	return env[name] !== undefined && env[name] !== "" ? env[name] : fallback;
}

function list(value) {
	return value ? String(value).split(/[,;]/).map(s => s.trim()).filter(Boolean) : [];
}

/** What the bitnami environment asks for, as FerretDB flags and users to create. Throws on a contradiction. */
function plan(env) {
	const port = Number(setting(env, "MONGODB_PORT_NUMBER", "27017"));
	const mode = setting(env, "MONGODB_REPLICA_SET_MODE");
	const replicaSet = mode ? setting(env, "MONGODB_REPLICA_SET_NAME", "replicaset") : "";
	if (mode && mode !== "primary") {
		throw new Error(
			`MONGODB_REPLICA_SET_MODE=${mode}: FerretDB v1 serves a one-member replica set only (no secondaries, ` +
				"arbiters or hidden members): run the MongoDB with replicaCount 1"
		);
	}
	const rootUser = setting(env, "MONGODB_ROOT_USER", "root");
	const rootPassword = setting(env, "MONGODB_ROOT_PASSWORD");
	const allowEmpty = /^(yes|true|1)$/i.test(setting(env, "ALLOW_EMPTY_PASSWORD", "no"));
	if (!rootPassword && !allowEmpty) {
		throw new Error("MONGODB_ROOT_PASSWORD is empty and ALLOW_EMPTY_PASSWORD is not yes");
	}
	const names = [...list(setting(env, "MONGODB_EXTRA_USERNAMES")), ...list(setting(env, "MONGODB_USERNAME"))];
	const passwords = [...list(setting(env, "MONGODB_EXTRA_PASSWORDS")), ...list(setting(env, "MONGODB_PASSWORD"))];
	const databases = [...list(setting(env, "MONGODB_EXTRA_DATABASES")), ...list(setting(env, "MONGODB_DATABASE"))];
	if (names.length !== passwords.length || names.length !== databases.length) {
		throw new Error(
			`MONGODB_EXTRA_USERNAMES/PASSWORDS/DATABASES have ${names.length}/${passwords.length}/${databases.length} ` +
				"entries: bitnami needs one password and one database per user"
		);
	}
	const users = names.map((user, i) => ({ user, password: passwords[i], database: databases[i] }));
	return {
		port,
		replicaSet,
		host: setting(env, "MONGODB_ADVERTISED_HOSTNAME"),
		rootUser,
		rootPassword,
		auth: Boolean(rootPassword),
		users,
		dataDir: setting(env, "MONGODB_DATA_DIR", DATA_DIR)
	};
}

// FerretDB answers hello with hosts: [its listen address]; a driver that follows the replica set's host
// list must reach that address, so a replica set listens on the advertised name (the headless Service's
// record of the pod, which appears shortly after the pod gets its IP).
let loopback = false; // the advertised name is this host's loopback (a self-test): nothing to forward

async function listenAddress(p, log) {
	if (!p.replicaSet || !p.host) return `0.0.0.0:${p.port}`;
	const deadline = Date.now() + 120000;
	for (;;) {
		try {
			const { address } = await dns.lookup(p.host);
			loopback = /^127\.|^::1$/.test(address);
			return `${p.host}:${p.port}`;
		} catch (err) {
			if (Date.now() > deadline) throw new Error(`MONGODB_ADVERTISED_HOSTNAME ${p.host} does not resolve`);
			log(`waiting for ${p.host} to resolve (${err.code || err.message})`);
			await new Promise(resolve => setTimeout(resolve, 2000));
		}
	}
}

function flags(p, listen) {
	const out = [
		"--handler=sqlite",
		`--sqlite-url=file:${p.dataDir}/db/`,
		`--state-dir=${p.dataDir}`,
		`--listen-addr=${listen}`,
		`--debug-addr=${process.env.QMC_FERRETDB_DEBUG_ADDR || "127.0.0.1:8088"}`,
		"--telemetry=disable",
		"--log-format=console",
		"--log-level=info"
	];
	if (p.replicaSet) out.push(`--repl-set-name=${p.replicaSet}`);
	if (p.auth) {
		out.push("--test-enable-new-auth", `--setup-username=${p.rootUser}`, "--setup-database=admin");
		out.push(`--setup-password=${p.rootPassword}`);
	}
	return out;
}

function urlOf(p, listen) {
	const cred = p.auth ? `${encodeURIComponent(p.rootUser)}:${encodeURIComponent(p.rootPassword)}@` : "";
	return `mongodb://${cred}${listen.replace(/^0\.0\.0\.0/, "127.0.0.1")}/admin?directConnection=true&serverSelectionTimeoutMS=2000`;
}

// The application users bitnami creates (createUser in each user's database), unless they exist.
async function createUsers(p, listen, log) {
	const client = new MongoClient(urlOf(p, listen));
	try {
		for (let attempt = 0; ; attempt++) {
			try {
				await client.db("admin").command({ ping: 1 });
				break;
			} catch (err) {
				if (attempt > 60) throw err;
				await new Promise(resolve => setTimeout(resolve, 1000));
			}
		}
		for (const u of p.users) {
			const db = client.db(u.database);
			const info = await db.command({ usersInfo: u.user });
			if (info.users && info.users.length) continue;
			await db.command({ createUser: u.user, pwd: u.password, roles: [] });
			log(`created user ${u.user} in database ${u.database}`);
		}
	} finally {
		await client.close().catch(() => {});
	}
}

// FerretDB listens on one address: the advertised name's for a replica set. The probes, the setup script
// and the metrics sidecar connect to localhost, as with mongod (which listens everywhere): forward it.
function forwardLocalhost(port, host, log) {
	const server = net.createServer(local => {
		const remote = net.connect(port, host);
		local.pipe(remote).pipe(local);
		local.on("error", () => remote.destroy());
		remote.on("error", () => local.destroy());
	});
	server.on("error", err => log(`localhost:${port} forwarder: ${err.message}`));
	server.listen(port, "127.0.0.1");
	return server;
}

function run(binary, args, log) {
	const child = spawn(binary, args, { stdio: ["ignore", "inherit", "inherit"] });
	const exited = new Promise(resolve => child.on("exit", (code, signal) => resolve(signal || code)));
	return { child, exited };
}

/**
 * Start FerretDB as the bitnami container starts mongod: first a setup run on loopback only (the root user,
 * then the application users), stopped, then the server on its address, so no client ever finds the server
 * without its users. Resolves with the server's child process.
 */
async function startFerretdb(env, { binary, log, ready }) {
	const p = plan(env);
	fs.mkdirSync(`${p.dataDir}/db`, { recursive: true });
	if (p.auth && p.users.length) {
		const setupListen = `127.0.0.1:${p.port === 27017 ? 27018 : p.port + 1}`;
		log(`setup: FerretDB on ${setupListen} to create ${p.users.map(u => u.user).join(", ")}`);
		const setup = run(binary, flags({ ...p, replicaSet: "" }, setupListen), log);
		try {
			await createUsers(p, setupListen, log);
		} finally {
			setup.child.kill("SIGTERM");
			await setup.exited;
		}
	}
	const listen = await listenAddress(p, log);
	log(
		`FerretDB on ${listen}` +
			(p.replicaSet ? `, replica set ${p.replicaSet}` : ", standalone") +
			(p.auth ? `, SCRAM users ${[p.rootUser, ...p.users.map(u => u.user)].join(", ")}` : ", no authentication")
	);
	const { child, exited } = run(binary, flags(p, listen), log);
	exited.then(code => {
		log(`FerretDB exited (${code})`);
		process.exit(typeof code === "number" && code ? code : 1);
	});
	if (!listen.startsWith("0.0.0.0:") && !loopback) forwardLocalhost(p.port, p.host, log);
	if (fs.existsSync("/docker-entrypoint-initdb.d") && fs.readdirSync("/docker-entrypoint-initdb.d").length) {
		log("/docker-entrypoint-initdb.d: not run (its mongosh scripts grant roles, which FerretDB v1 does not have)");
	}
	ready("mongodb", `ferretdb:${listen}`);
	return child;
}

module.exports = { flags, plan, startFerretdb, urlOf };
