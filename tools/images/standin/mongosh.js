#!/usr/bin/env node
// A stand-in for `mongosh` in the MongoDB image of the kind lane: the bitnami chart's probes and setup script
// run mongosh with --eval; this answers the expressions they use, from a real connection to the server
// (FerretDB), with the driver. Anything else is refused with exit 1 (never a silent success).
//
//   mongosh [db] [--host h[:p]] [--port p] [-u user -p password --authenticationDatabase db] [--quiet] --eval E
"use strict";

const { MongoClient } = require("mongodb");

function parse(argv) {
	const o = { db: "admin", host: "", port: "", user: "", password: "", authDb: "", evalText: "" };
	for (let i = 0; i < argv.length; i++) {
		const a = argv[i];
		const next = () => argv[++i] || "";
		if (a === "--host") o.host = next();
		else if (a === "--port") o.port = next();
		else if (a === "-u" || a === "--username") o.user = next();
		else if (a === "-p" || a === "--password") o.password = next();
		else if (a === "--authenticationDatabase") o.authDb = next();
		else if (a === "--eval") o.evalText = next();
		else if (a.startsWith("--")) continue; // --quiet, --tls..., ignored
		else o.db = a;
	}
	return o;
}

function url(o, env) {
	let host = o.host || "127.0.0.1";
	if (!/:\d+$/.test(host)) host += `:${o.port || env.MONGODB_PORT_NUMBER || 27017}`;
	else if (o.port) host = host.replace(/:\d+$/, `:${o.port}`);
	const cred = o.user ? `${encodeURIComponent(o.user)}:${encodeURIComponent(o.password)}@` : "";
	const auth = o.authDb ? `&authSource=${encodeURIComponent(o.authDb)}` : "";
	return `mongodb://${cred}${host}/${o.db}?directConnection=true&serverSelectionTimeoutMS=4000${auth}`;
}

async function main(argv, env) {
	const o = parse(argv);
	const text = o.evalText.replace(/\s+/g, "");
	const client = new MongoClient(url(o, env));
	try {
		const db = client.db(o.db);
		if (/adminCommand\(['"]ping['"]\)|adminCommand\(\{ping:1\}\)/.test(text)) {
			const r = await client.db("admin").command({ ping: 1 });
			console.log(`{ ok: ${r.ok} }`);
		} else if (/^db\.(hello|isMaster)\(\)\.(isWritablePrimary|ismaster)\|\|db\.\1\(\)\.secondary$/.test(text)) {
			const r = await db.command({ hello: 1 });
			console.log(String(Boolean(r.isWritablePrimary || r.ismaster || r.secondary)));
		} else if (/^db\.runCommand\(['"](ismaster|hello)['"]\)$/i.test(text)) {
			const r = await db.command({ hello: 1 });
			const lines = Object.entries(r).map(([k, v]) => `  ${k}: ${typeof v === "string" ? `'${v}'` : JSON.stringify(v)},`);
			console.log(`{\n${lines.join("\n")}\n}`);
		} else {
			process.stderr.write(`mongosh (kind-lane stand-in): cannot evaluate ${JSON.stringify(o.evalText)}\n`);
			return 1;
		}
		return 0;
	} catch (err) {
		process.stderr.write(`MongoServerSelectionError or refusal: ${(err && err.name) || "Error"}: ${(err && err.message) || err}\n`);
		return 1;
	} finally {
		await client.close().catch(() => {});
	}
}

main(process.argv.slice(2), process.env).then(code => process.exit(code));
