#!/usr/bin/env node
// A stand-in for bitnami's mongodb_exporter sidecar: --web.listen-address and --mongodb.uri as the chart
// passes them; /metrics (and /) answer with mongodb_up 1 or 0 from a real ping of the server.
"use strict";

const http = require("http");
const { MongoClient } = require("mongodb");

const args = process.argv.slice(2);
const opt = name => {
	const i = args.findIndex(a => a === name || a.startsWith(`${name}=`));
	if (i < 0) return "";
	return args[i].includes("=") ? args[i].slice(name.length + 1) : args[i + 1] || "";
};
const listen = opt("--web.listen-address") || ":9216";
let uri = opt("--mongodb.uri") || process.env.MONGODB_URI || "mongodb://127.0.0.1:27017/admin";
if (!/directConnection=/.test(uri)) uri += (uri.includes("?") ? "&" : "?") + "directConnection=true";
uri = uri.replace(/\?&/, "?");
const client = new MongoClient(uri, { serverSelectionTimeoutMS: 3000 });

http
	.createServer(async (req, res) => {
		let up = 0;
		try {
			await client.db("admin").command({ ping: 1 });
			up = 1;
		} catch (err) {
			process.stderr.write(`mongodb_exporter stand-in: ${err.name}: ${err.message}\n`);
		}
		res.writeHead(200, { "content-type": "text/plain; version=0.0.4" });
		res.end(`# TYPE mongodb_up gauge\nmongodb_up ${up}\n`);
	})
	.listen(Number(listen.split(":").pop()), "0.0.0.0");
process.on("SIGTERM", () => process.exit(0));
