#!/usr/bin/env node
// The DDP server of the stand-ins on its own (no bus), the peer of the DDP probe self-tests:
//
//   node ddp-server.js --personality ddp-streamer|monolith [--host 127.0.0.1] [--port 0]
//                      [--sockjs-heartbeat 25]
//
// Prints "READY <host>:<port>" once listening (--port 0: the kernel picks); stops on SIGTERM/SIGINT.
"use strict";

const { MONOLITH, STREAMER, createDdpServer } = require("./lib/ddp");

function usage(problem) {
	process.stderr.write(`ddp-server.js: ${problem}\n`);
	process.exit(2);
}

function parseArgs(argv) {
	const opts = { personality: "", host: "127.0.0.1", port: 0, sockjsHeartbeat: 25 };
	for (let i = 2; i < argv.length; i++) {
		const flag = argv[i];
		const value = () => (i + 1 < argv.length ? argv[++i] : usage(`${flag} needs a value`));
		switch (flag) {
			case "--personality": opts.personality = value(); break;
			case "--host": opts.host = value(); break;
			case "--port": opts.port = Number(value()); break;
			case "--sockjs-heartbeat": opts.sockjsHeartbeat = Number(value()); break;
			default: usage(`unknown flag ${flag}`);
		}
	}
	if (![STREAMER, MONOLITH].includes(opts.personality)) usage(`--personality must be ${STREAMER} or ${MONOLITH}`);
	if (!(opts.sockjsHeartbeat > 0)) usage("--sockjs-heartbeat must be a number of seconds > 0");
	return opts;
}

const opts = parseArgs(process.argv);
const server = createDdpServer(opts.personality, { sockjsHeartbeat: opts.sockjsHeartbeat });
server.listen(opts.port, opts.host, () => {
	const { address, port } = server.address();
	process.stdout.write(`READY ${address}:${port}\n`);
});
for (const signal of ["SIGTERM", "SIGINT"]) {
	process.on(signal, () => server.closeAll().then(() => process.exit(0)));
}
